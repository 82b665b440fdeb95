#!/usr/bin/env bash
# The README's *run* command: install what is needed, then start the whole system
# (Temporal dev server on a SQLite file under ./var, worker, web) with demo data.
# Arguments go to `madoguchi up`, e.g. --port 8080 --data /srv/madoguchi.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$repo/deploy/local/setup.sh"
exec "$repo/.venv/bin/madoguchi" up "$@"
