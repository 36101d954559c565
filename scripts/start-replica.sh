#!/usr/bin/env bash
# Start a streaming read replica of the local PostgreSQL on 127.0.0.1:${LEADPIPE_REPLICA_PORT:-5433}, for the
# store-postgres replica tests. Idempotent: does nothing when a replica already answers there. Otherwise it lets
# the primary accept local replication connections (pg_hba.conf, then a reload), copies the primary with
# `pg_basebackup -R` into $LEADPIPE_REPLICA_DIR (when no usable copy is there) and starts it with pg_ctl.
# A copy that cannot stream any more (the primary recycled the WAL it needs) is made again.
# Needs root or the postgres user (the copy belongs to postgres). Prints the replica's URL at the end.
set -euo pipefail

port="${LEADPIPE_REPLICA_PORT:-5433}"
primary_port="${LEADPIPE_PRIMARY_PORT:-5432}"
version="$(ls /etc/postgresql | sort -V | tail -1)"
bin="/usr/lib/postgresql/$version/bin"
hba="/etc/postgresql/$version/main/pg_hba.conf"
dir="${LEADPIPE_REPLICA_DIR:-/var/lib/postgresql/$version/leadpipe-replica}"
log="${LEADPIPE_REPLICA_LOG:-/tmp/leadpipe-replica-$port.log}"

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}
sql() { # $1 = port, $2 = statement
  "$bin/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atqc "$2"
}
in_recovery() { [ "$(sql "$port" 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]; }
streaming() { [ "$(sql "$port" "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null)" = 1 ]; }
wait_streaming() { # up to 15 s
  for _ in $(seq 1 75); do streaming && return 0; sleep 0.2; done
  return 1
}

if in_recovery; then
  echo "replica already answers on port $port: postgres://postgres@127.0.0.1:$port/"
  exit 0
fi
if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  echo "port $port answers but is not a replica (pg_is_in_recovery() is not true): stop it or set LEADPIPE_REPLICA_PORT" >&2
  exit 1
fi
"$bin/pg_isready" -q -h 127.0.0.1 -p "$primary_port" || { echo "the primary does not answer on port $primary_port" >&2; exit 1; }

# The primary must let local replication connections in.
if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  echo 'host replication all 127.0.0.1/32 trust' >> "$hba"
  sql "$primary_port" 'SELECT pg_reload_conf()' >/dev/null
  sleep 0.5
fi

copy() {
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres:postgres "$dir" 2>/dev/null || true
  chmod 700 "$dir"
  as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir" -R -X stream -c fast
  # Debian keeps the configuration in /etc: the copy has none of its own.
  as_postgres touch "$dir/postgresql.conf"
}
start() {
  rm -f "$dir/postmaster.pid" # left by a killed replica (pg_ctl refuses to start over it)
  as_postgres "$bin/pg_ctl" -D "$dir" -l "$log" -w -t 60 \
    -o "-p $port -k /tmp -c hba_file=$hba -c listen_addresses=127.0.0.1" start >/dev/null
}
stop() { as_postgres "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true; }

if [ -f "$dir/PG_VERSION" ] && [ -f "$dir/standby.signal" ]; then
  start || true
  if ! wait_streaming; then
    echo "the replica copy in $dir cannot stream any more: copying the primary again" >&2
    stop
    copy
    start
  fi
else
  copy
  start
fi
wait_streaming || { echo "the replica started but does not stream; see $log" >&2; exit 1; }
in_recovery || { echo "the replica on port $port is not in recovery; see $log" >&2; exit 1; }
echo "replica started: postgres://postgres@127.0.0.1:$port/"
