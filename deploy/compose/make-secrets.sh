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
plain=(postgres-password madoguchi-database-url minio-user minio-password smtp-password
       id-secret payload-keys.json)
for f in "${plain[@]}"; do
  chown 10001:10001 "secrets/$f" 2>/dev/null || echo "run as root to chown secrets/$f to 10001"
  chmod 0400 "secrets/$f"
done

# --- mutual TLS to the Temporal frontend (docs/deploying.md, "Securing the Temporal
# frontend"). A small CA of this installation signs the server's certificate and one client
# certificate per kind of caller; the server accepts no connection without one. Anyone who
# can reach the frontend without a certificate can do nothing, not even list workflows.
# Keep temporal-ca.key offline once the certificates exist (it is not mounted anywhere);
# to renew a certificate, delete its .crt and .key and run this script again.
DAYS_CA=3650  # the CA: ten years
DAYS=825      # the leaves: about two years and three months
SERVER_NAME=temporal  # what every client checks the server's certificate against
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
if [ -e secrets/temporal-ca.crt ]; then echo "keep   secrets/temporal-ca.crt"; else
  new_key secrets/temporal-ca.key
  openssl req -x509 -new -key secrets/temporal-ca.key -sha256 -days "$DAYS_CA" \
    -subj "/O=madoguchi/CN=madoguchi Temporal CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out secrets/temporal-ca.crt
  echo "create secrets/temporal-ca.crt (and its key)"
fi
leaf() {  # leaf NAME COMMON-NAME EXTENDED-KEY-USAGE OWNER [SUBJECT-ALT-NAMES]
  if [ -e "secrets/$1.crt" ]; then echo "keep   secrets/$1.crt"; return; fi
  new_key "secrets/$1.key"
  ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$3${5:+
subjectAltName=$5}"
  openssl req -new -key "secrets/$1.key" -subj "/O=madoguchi/CN=$2" \
    | openssl x509 -req -CA secrets/temporal-ca.crt -CAkey secrets/temporal-ca.key \
        -set_serial "0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
        -days "$DAYS" -sha256 -extfile <(printf '%s\n' "$ext") -out "secrets/$1.crt" 2>/dev/null
  chown "$4" "secrets/$1.key" 2>/dev/null || echo "run as root to chown secrets/$1.key to $4"
  chmod 0400 "secrets/$1.key"
  chmod 0444 "secrets/$1.crt"
  echo "create secrets/$1.crt (and its key)"
}
# The server presents it to clients and uses it between its own services (internode), so it
# is both a server and a client certificate. Temporal's images run as uid 1000, the UI as 5000.
leaf temporal-server temporal serverAuth,clientAuth 1000:1000 \
  "DNS:$SERVER_NAME,DNS:localhost,IP:127.0.0.1"
leaf madoguchi-temporal madoguchi clientAuth 10001:10001  # web and workers
leaf temporal-ui temporal-ui clientAuth 5000:5000
leaf temporal-admin temporal-admin clientAuth 1000:1000  # the one-shot namespace job
chmod 0444 secrets/temporal-ca.crt
chmod 0400 secrets/temporal-ca.key 2>/dev/null || true
