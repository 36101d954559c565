#!/usr/bin/env bash
# Starts each local service the integration suite needs when it does not answer: PostgreSQL, Redis and RabbitMQ,
# with the commands ../shared/toolchain.md gives for this machine (Debian packages). Idempotent: a service that
# answers is left alone. Exits non-zero when a service is still down after its start command.
set -uo pipefail
cd "$(dirname "$0")/.."

answers() { node -e 'import("./scripts/services.mjs").then(async m=>process.exit((await m.probe(process.argv[1])) ? 0 : 1))' "$1"; }

wait_for() { # $1 = name, $2 = url, $3 = seconds
  for _ in $(seq 1 "$3"); do answers "$2" && { echo "$1 answers: $2"; return 0; }; sleep 1; done
  echo "$1 did not start: $2" >&2; return 1
}

start() { # $1 = name, $2 = url, $3 = seconds to wait, rest = start command
  local name=$1 url=$2 seconds=$3; shift 3
  if answers "$url"; then echo "$name answers: $url"; return 0; fi
  echo "$name is down; starting it: $*"
  "$@" >/dev/null 2>&1 || true
  wait_for "$name" "$url" "$seconds"
}

status=0
start PostgreSQL "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" 30 \
  bash -c 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' || status=1
start Redis "${REDIS_URL:-redis://127.0.0.1:6379}" 15 \
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis \
  --logfile /var/log/redis/ci.log || status=1
start RabbitMQ "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}" 60 rabbitmq-server -detached || status=1
exit $status
