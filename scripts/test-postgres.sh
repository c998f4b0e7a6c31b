#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests (audit store contract, crash test, benchmarks):
#   scripts/test-postgres.sh start   -> installs the Debian package if missing, starts a cluster on a free
#                                       loopback port in a temp dir, prints its Npgsql connection string
#   scripts/test-postgres.sh stop    -> stops it and removes its files
# Idempotent and quick when PostgreSQL is already installed. Runs the server as 'postgres' when invoked as root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.tools/postgres-test"
mkdir -p "$STATE"

as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  [ -f "$STATE/dir" ] || return 0
  local dir bin
  dir="$(cat "$STATE/dir")"
  bin="$(cat "$STATE/bin")"
  if [ -d "$dir/data" ]; then
    as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" "$STATE/dir" "$STATE/bin" "$STATE/connection"
}

start() {
  if [ -f "$STATE/connection" ] && [ -f "$STATE/dir" ] && [ -f "$(cat "$STATE/dir")/data/postmaster.pid" ]; then
    cat "$STATE/connection"
    return 0
  fi
  stop
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "test-postgres: installing postgresql (Debian)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  fi
  local bin dir port
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/airlock-pg.XXXXXX")"
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  echo "$dir" > "$STATE/dir"
  echo "$bin" > "$STATE/bin"
  as_server_user "$bin/initdb" -D "$dir/data" -U airlock --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "Host=127.0.0.1;Port=$port;Username=airlock;Database=postgres" | tee "$STATE/connection"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
