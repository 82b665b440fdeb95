#!/usr/bin/env bash
# Every benchmark, then the goals of #21 against today's code (a worktree, --baseline DIR,
# default /work/baseline) with a speed probe; ~10 min on 2 cores, --full for the long one:
#   bash benchmarks/run.sh [--full] [--out DIR] [--baseline DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
python="${MADOGUCHI_PYTHON:-.venv/bin/python}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$python" -m benchmarks "$@" 2>&1 | tee "$log"
echo
echo "== summary: each goal with its same-run baseline, and the machine-speed probe =="
grep -E '^(GOAL|PROBE) ' "$log" || echo "(no goal lines: see the output above)"
