#!/usr/bin/env bash
# The short version of every benchmark (~2 min on a 2-core machine): bash benchmarks/run.sh [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m benchmarks "$@"
