#!/usr/bin/env bash
# The README's *test* command (and what CI runs): install, lint, run the whole suite.
# Arguments go to pytest, e.g. -k e2e.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$repo/deploy/local/setup.sh" --test
cd "$repo"
.venv/bin/ruff check .
status=0
.venv/bin/pytest --durations=30 "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit "$status"
