#!/usr/bin/env bash
# Creates deploy/compose/secrets/* once: random passwords, the payload encryption keys
# and the id secret. Never overwrites a file (losing the keys makes every case's history
# unreadable): back the directory up, offline, as soon as it exists.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
umask 077
mkdir -p secrets
rand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
make() {  # make NAME CONTENT
  if [ -e "secrets/$1" ]; then echo "keep   secrets/$1"; else
    printf '%s\n' "$2" > "secrets/$1"; echo "create secrets/$1"; fi
}
pg="$(rand)"
make postgres-password "$pg"
pg="$(cat secrets/postgres-password)"  # the kept one on a second run
make madoguchi-database-url "postgresql+psycopg://madoguchi:${pg}@postgresql:5432/madoguchi"
make minio-user "madoguchi"
make minio-password "$(rand)"
make smtp-password ""
make id-secret "$(rand)"
make payload-keys.json "{\"active\": \"k1\", \"keys\": {\"k1\": \"$(rand)\"}}"
# The containers run as uid 10001 and read these files.
chown 10001:10001 secrets/* 2>/dev/null || echo "run as root to chown secrets/* to 10001"
chmod 0400 secrets/*
