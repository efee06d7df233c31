#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: a temp folder, a free loopback port, stopped
# at the end. Installs the server with apt-get only when its binaries are missing.
# Usage: source scripts/postgres.sh; pg_start; ...; pg_stop

_pg_bin() {
  for d in /usr/lib/postgresql/*/bin /usr/local/bin /usr/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

pg_start() {
  local bindir
  if ! bindir=$(_pg_bin); then
    echo "PostgreSQL binaries not found: installing them with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir=$(_pg_bin)
  fi
  PG_DIR=$(mktemp -d /tmp/steadyml-pg.XXXXXX)
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  local run=()
  if [ "$(id -u)" = "0" ]; then
    # PostgreSQL refuses to run as root: use the postgres user (create it if missing).
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U steadyml --auth=trust -E UTF8 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log"; return 1; }
  "${run[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$PG_DIR/server.log"; return 1; }
  PG_BINDIR=$bindir
  PG_RUN=("${run[@]}")
  export STEADYML_TEST_POSTGRES_URL="postgresql://steadyml@127.0.0.1:$PG_PORT/postgres"
  echo "PostgreSQL started on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    "${PG_RUN[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    echo "PostgreSQL stopped"
  fi
}
