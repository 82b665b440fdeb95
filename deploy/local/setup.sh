#!/usr/bin/env bash
# Installs what madoguchi needs on a Debian machine with Python 3.11+, idempotently:
# Debian packages (WeasyPrint's libraries, a Japanese font, poppler for the tests) and
# a virtual environment in .venv with madoguchi installed in it.
#   deploy/local/setup.sh          what running needs
#   deploy/local/setup.sh --test   and what the test suite needs
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"

say() { printf 'setup: %s\n' "$*" >&2; }

# --- Debian packages ---------------------------------------------------------------
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-ipaexfont
          poppler-utils)
# The tests also drive a real browser and check PDFs and QR codes with Debian's tools,
# and run the deployed shape for real: read models on PostgreSQL 15, rate limits in
# Redis 7, web processes behind Caddy (tests/support/pg.py, redis.py, proxy.py start
# their own instances on free loopback ports; the packages' system services are unused).
[ -n "$extra" ] && packages+=(chromium qpdf zbar-tools libnss3-tools redis-server
                              postgresql-15 caddy)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    say "missing Debian packages: ${missing[*]}"
    say "install them as root: apt-get install ${missing[*]}"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
if [ -n "$extra" ] && [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  # PostgreSQL refuses to run as root: the test fixture runs it as this user. Debian's
  # package creates it; a machine where it was removed gets it back here.
  useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
fi

# --- Python ------------------------------------------------------------------------
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "madoguchi needs Python 3.11 or newer (found: $("$python" --version 2>&1))"
  exit 1
fi
if [ ! -x "$repo/.venv/bin/python" ]; then
  say "creating the virtual environment in .venv"
  "$python" -m venv "$repo/.venv"
fi
# Reinstall only when the project's dependencies changed.
stamp="$repo/.venv/.madoguchi-installed${extra}"
if [ ! -f "$stamp" ] || [ "$repo/pyproject.toml" -nt "$stamp" ]; then
  say "installing madoguchi${extra} into .venv (a few minutes the first time)"
  "$repo/.venv/bin/pip" install --quiet --disable-pip-version-check -e "$repo$extra"
  # No longer a dependency (pyproject.toml says why); an older .venv still has it, and
  # jsonschema would import it in every process.
  "$repo/.venv/bin/pip" uninstall --quiet --yes rfc3987-syntax 2>/dev/null || true
  touch "$stamp"
fi
