#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the registry and tuning tests.
# Installs Debian's postgresql when it is missing. Prints the SQLAlchemy URL on stdout.
set -euo pipefail

PORT="${MLPILOT_PG_PORT:-55432}"
DIR="${MLPILOT_PG_DIR:-/tmp/mlpilot-pg}"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
BIN="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"

# initdb refuses to run as root: run the server as the postgres user when we are root.
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if run "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  run "$BIN/pg_ctl" -D "$DIR" -m fast stop >&2 || true
fi
rm -rf "$DIR"
mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
run "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 >/dev/null
run "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2
run "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres mlpilot_test
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/mlpilot_test"
