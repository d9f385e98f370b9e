#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for payrecon's PostgreSQL
# tests (and for trying the backend by hand).
#
#   .ci/postgres.sh start DIR   init a cluster in DIR (empty or absent), start it
#                               on a free 127.0.0.1 port; prints the URL to use as
#                               PAYRECON_TEST_POSTGRES (also written to DIR/url)
#   .ci/postgres.sh stop DIR    stop it (DIR can then be removed)
#   .ci/postgres.sh resume DIR  start a stopped cluster again on its port (a
#                               database restart, for the reconnection tests)
#
#   dir=$(mktemp -d); export PAYRECON_TEST_POSTGRES=$(.ci/postgres.sh start "$dir")
#   go test ./store/ ./cmd/payrecon/ ; .ci/postgres.sh stop "$dir"; rm -rf "$dir"
#
# Needs the server binaries (Debian: apt-get install postgresql). As root, the
# cluster runs as the user "postgres" (created if absent): initdb refuses root.
# Authentication is trust, on loopback only, with fsync off: for tests, never
# for a ledger.
#
# PAYRECON_PG_DURABLE=1 .ci/postgres.sh start DIR starts a durable cluster
# instead (fsync, synchronous_commit and full_page_writes at their defaults,
# on), as a production server runs: for benchmarks set beside SQLite's
# synchronous=FULL. The choice is kept in DIR, so resume restarts it the same.
set -euo pipefail

bindir() {
  local d
  if command -v pg_config >/dev/null && d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ]; then
    echo "$d"; return
  fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$d" ] && [ -x "$d/initdb" ] || { echo "postgres.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  echo "$d"
}

# as runs a command as the cluster's owner.
as() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  local p
  for p in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "postgres.sh: no free port in 55432-55532" >&2; exit 1
}

# server_opts are the server options of the cluster in DIR: durable (as in
# production) when DIR/durable exists, otherwise fsync off for fast tests.
server_opts() {
  local dir=$1 port=$2 o
  o="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200"
  if [ -e "$dir/durable" ]; then
    echo "$o"
  else
    echo "$o -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
}

start() {
  local dir=$1 bin port
  bin=$(bindir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chown postgres "$dir"
  fi
  as "$bin/initdb" -D "$dir/data" -U payrecon --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  if [ "${PAYRECON_PG_DURABLE:-}" = 1 ]; then touch "$dir/durable"; fi
  for _ in 1 2 3; do
    port=$(free_port)
    if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "$(server_opts "$dir" "$port")" \
      start >/dev/null; then
      echo "postgres://payrecon@127.0.0.1:$port/postgres?sslmode=disable" | tee "$dir/url"
      return
    fi
  done
  cat "$dir/server.log" >&2
  exit 1
}

stop() {
  local dir=$1
  [ -d "$dir/data" ] || return 0
  as "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

resume() {
  local dir=$1 port
  dir=$(cd "$dir" && pwd)
  port=$(sed -E 's|.*:([0-9]+)/.*|\1|' "$dir/url")
  as "$(bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "$(server_opts "$dir" "$port")" \
    start >/dev/null
}

case "${1:-}" in
start) start "${2:?usage: postgres.sh start DIR}" ;;
resume) resume "${2:?usage: postgres.sh resume DIR}" ;;
stop) stop "${2:?usage: postgres.sh stop DIR}" ;;
*) echo "usage: postgres.sh start|stop|resume DIR" >&2; exit 2 ;;
esac
