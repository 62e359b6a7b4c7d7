#!/usr/bin/env bash
# A production-like stack on this machine, then a smoke journey through it (issue 12, "Scale-out"):
#   PostgreSQL 15 (scripts/pg_test_cluster.sh), Redis on a unix socket, localstripe, the migrations and the demo
#   data, TWO gunicorn masters on two loopback ports (as if two hosts, 2 workers each) with SHOP_ENV=production,
#   the RQ worker and the job scheduler, and nginx in front (deploy/nginx-shop.conf.template) with the two
#   gunicorns as its upstream. scripts/smoke_journey.py then talks to nginx only: health, a new shopper, search,
#   cart, checkout, payment at localstripe whose webhook comes back through nginx, the demo supplier ships, the
#   shopper sees it; and it checks that both upstreams served, the request id crossed nginx, rate limits are
#   shared through Redis and the worker runs jobs. Everything started here is stopped on exit, the temp dir removed.
#
# No TLS locally: nginx listens on plain http and PREFERRED_URL_SCHEME=http (no HSTS); the session cookie stays
# Secure as in production, and the smoke client sends it anyway (see scripts/smoke_journey.py).
#
# Usage: scripts/prod_stack.sh [--keep]     --keep: leave the temp dir (logs, configs) in place for a look.
# Exit 0: the journey passed; 1: something failed (the step and the logs' tails are printed); 2: usage;
# 3: a Debian package is missing (postgresql-15, redis-server, nginx: scripts/install_stack.sh).
# SHOP_PYTHON=path/to/python overrides .venv/bin/python; NGINX the nginx binary (default /usr/sbin/nginx).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${SHOP_PYTHON:-.venv/bin/python}
BIN=$(dirname "$PY")
NGINX=${NGINX:-/usr/sbin/nginx}
keep=0
case "${1:-}" in
  "") ;;
  --keep) keep=1 ;;
  *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
esac

missing() { echo "prod_stack: $* (scripts/install_stack.sh installs the stack's Debian packages)" >&2; exit 3; }
[ -x "$NGINX" ] || missing "nginx not found at $NGINX"
command -v redis-server >/dev/null 2>&1 || missing "redis-server not found"
[ -x "$PY" ] || { echo "prod_stack: $PY not found (make setup)" >&2; exit 1; }

work=$(mktemp -d /tmp/shop-stack.XXXXXX)
chmod 755 "$work"  # PostgreSQL runs as the postgres OS user when we are root; nginx's workers as nobody
step="starting"
started=$SECONDS
pids=()    # every long-running process started here, in start order
names=()
summary=()

# Stop the children: TERM to all at once (nginx first: no new requests), KILL to any still running after a grace
# period (gunicorn's master alone takes seconds to finish), then `wait` reaps each.
stop_children() {
  local grace=20 i
  [ ${#pids[@]} -gt 0 ] || return 0
  for (( i=${#pids[@]}-1; i>=0; i-- )); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  (
    for (( i=0; i<grace*10; i++ )); do sleep 0.1; done  # short sleeps: killing this timer leaves no sleep behind
    for (( i=0; i<${#pids[@]}; i++ )); do
      kill -KILL "${pids[$i]}" 2>/dev/null && echo "prod_stack: ${names[$i]} ignored TERM for ${grace}s; killed" >&2
    done
  ) &
  local timer=$!
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  kill "$timer" 2>/dev/null || true
  wait "$timer" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ $status -ne 0 ]; then
    echo "prod_stack: FAILED while $step (exit $status)" >&2
    local logs=("$work"/app-*.log "$work"/worker.log "$work"/scheduler.log "$work"/localstripe.log "$work"/redis.log
                "$work"/nginx/logs/error.log)
    case "$step" in migrating*|loading*) logs=("$work/migrate.log") ;; esac
    for log in "${logs[@]}"; do
      [ -s "$log" ] || continue
      echo "---- last lines of ${log#"$work"/}" >&2
      tail -n 15 "$log" >&2
    done
  fi
  stop_children
  bash scripts/pg_test_cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  echo "prod_stack: stopped everything it started ($(elapsed) in all)" >&2
  if [ $keep -eq 1 ]; then
    echo "prod_stack: temp dir kept: $work" >&2
  else
    rm -rf "$work"
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started_child() { pids+=("$1"); names+=("$2"); }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
elapsed() { echo "$((SECONDS - started)) s"; }

# Poll until every URL answers 200, for at most $1 seconds; fail at once if a process started here has exited.
wait_http() {
  local timeout=$1 procs="" i; shift
  for (( i=0; i<${#pids[@]}; i++ )); do procs+="${pids[$i]}=${names[$i]},"; done
  "$PY" - "$timeout" "$procs" "$@" <<'PY'
import os, sys, time, urllib.request
timeout, urls = float(sys.argv[1]), sys.argv[3:]
procs = dict(item.split("=", 1) for item in sys.argv[2].split(",") if item)
deadline = time.monotonic() + timeout
for url in urls:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        for pid, name in procs.items():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                sys.exit(f"{name} (pid {pid}) exited while waiting for {url}")
        if time.monotonic() > deadline:
            sys.exit(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.2)
PY
}

step="starting PostgreSQL 15"
pg_status=0
pg_url=$(bash scripts/pg_test_cluster.sh start "$work/pg" 2>"$work/pg-start.log") || pg_status=$?
[ $pg_status -ne 3 ] || { cat "$work/pg-start.log" >&2; missing "PostgreSQL 15 cannot run here"; }
[ $pg_status -eq 0 ] || { cat "$work/pg-start.log" >&2; exit 1; }
summary+=("PostgreSQL 15   $pg_url")

step="starting Redis"
mkdir -p "$work/redis"
redis-server --port 0 --unixsocket "$work/redis/redis.sock" --unixsocketperm 700 --save "" --appendonly no \
  --dir "$work/redis" >"$work/redis.log" 2>&1 &
started_child $! redis
for _ in $(seq 100); do [ -S "$work/redis/redis.sock" ] && break; sleep 0.1; done
[ -S "$work/redis/redis.sock" ] || { echo "prod_stack: redis-server did not create its socket" >&2; exit 1; }
summary+=("Redis           unix://$work/redis/redis.sock")

step="starting localstripe"
stripe_port=$(free_port)
"$PY" -m shop.payments.localstripe_server --host 127.0.0.1 --port "$stripe_port" >"$work/localstripe.log" 2>&1 &
started_child $! localstripe
stripe_base="http://127.0.0.1:$stripe_port"
"$PY" -c "from shop.payments.localstripe_server import wait_until_ready as w; w('$stripe_base', 20)"
summary+=("localstripe     $stripe_base")

# The configuration every host shares (README "Production"): one SECRET_KEY, one database, one Redis.
export SHOP_ENV=production FLASK_APP=wsgi.py LOG_FORMAT=json
SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')
STRIPE_WEBHOOK_SECRET="whsec_$("$PY" -c 'import secrets; print(secrets.token_hex(16))')"
export SECRET_KEY STRIPE_WEBHOOK_SECRET
export DATABASE_URL="$pg_url?connect_timeout=5" REDIS_URL="unix://$work/redis/redis.sock"
export STRIPE_API_BASE="$stripe_base" STRIPE_SECRET_KEY=sk_test_prod_stack
export TRUSTED_PROXY_COUNT=1 PREFERRED_URL_SCHEME=http  # no TLS locally: see the header
export SHOWCASE_DEMO=1

step="migrating the database (flask db upgrade, once, before any app process starts)"
"$BIN/flask" db upgrade >"$work/migrate.log" 2>&1
step="loading the reference and demo data"
"$BIN/flask" shop load-reference >>"$work/migrate.log" 2>&1
"$BIN/flask" shop load-demo --force >>"$work/migrate.log" 2>&1  # production refuses demo data without --force
summary+=("migrated, reference + demo data loaded at $(elapsed)")

step="starting two gunicorn masters"
ports=()
for name in a b; do
  port=$(free_port)
  # No control socket: its default path is shared by every gunicorn of this user. The app writes its own JSON
  # access line per request to stderr, hence no gunicorn access log.
  "$BIN/gunicorn" --bind "127.0.0.1:$port" --workers 2 --threads 4 --no-control-socket --graceful-timeout 10 \
    wsgi:app >"$work/app-$name.log" 2>&1 &
  started_child $! "gunicorn $name"
  ports+=("$port")
  summary+=("gunicorn $name      127.0.0.1:$port (2 workers x 4 threads), log app-$name.log")
done

step="starting the RQ worker and the job scheduler"
"$BIN/flask" shop worker >"$work/worker.log" 2>&1 &
started_child $! worker
"$BIN/flask" shop schedule-jobs --tick 2 >"$work/scheduler.log" 2>&1 &
started_child $! scheduler

step="starting nginx"
nginx_port=$(free_port)
mkdir -p "$work/nginx/logs" "$work/nginx/conf"
upstreams=""
for port in "${ports[@]}"; do upstreams+="server 127.0.0.1:$port max_fails=3 fail_timeout=10s; "; done
sed -e "s|@UPSTREAM_SERVERS@|$upstreams|" -e "s|@LISTEN@|127.0.0.1:$nginx_port|" -e "s|@SERVER_NAME@|localhost|" \
    -e "s|@ACCESS_LOG@|$work/nginx/logs/access.log|" deploy/nginx-shop.conf.template >"$work/nginx/conf/shop.conf"
# A main file of its own: no root paths, nothing of the system's nginx (whose config may not even exist).
cat >"$work/nginx/conf/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 512; }
http {
    client_body_temp_path $work/nginx/client_body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    default_type application/octet-stream;
    include $work/nginx/conf/shop.conf;
}
EOF
"$NGINX" -p "$work/nginx" -c "$work/nginx/conf/nginx.conf" -t >"$work/nginx-test.log" 2>&1 \
  || { cat "$work/nginx-test.log" >&2; exit 1; }
"$NGINX" -p "$work/nginx" -c "$work/nginx/conf/nginx.conf" 2>>"$work/nginx/logs/error.log" &
started_child $! nginx
base="http://127.0.0.1:$nginx_port"
summary+=("nginx           $base -> both gunicorns (round robin), config nginx/conf/shop.conf")

step="waiting for the gunicorns and nginx to answer"
# Generous: six app processes import the app at once, on two cores that may be busy with other work.
wait_http 240 "http://127.0.0.1:${ports[0]}/healthz" "http://127.0.0.1:${ports[1]}/healthz" "$base/healthz"

step="registering localstripe's webhook to nginx"
"$PY" - "$stripe_base" "$base/api/v1/payments/stripe/webhook" <<'PY'
import json, os, sys, urllib.request
# localstripe's own config API: it signs its events with this secret and POSTs them here, like Stripe would.
body = json.dumps({"url": sys.argv[2], "secret": os.environ["STRIPE_WEBHOOK_SECRET"]}).encode()
urllib.request.urlopen(urllib.request.Request(f"{sys.argv[1]}/_config/webhooks/shop", data=body, method="POST",
                                              headers={"Content-Type": "application/json"}), timeout=10)
PY
summary+=("stack up at $(elapsed)")

step="running the smoke journey through nginx"
"$PY" scripts/smoke_journey.py --base "$base" --stripe-api "$stripe_base" \
  --nginx-log "$work/nginx/logs/access.log" \
  --upstream "127.0.0.1:${ports[0]}=$work/app-a.log" --upstream "127.0.0.1:${ports[1]}=$work/app-b.log"

step="stopping"
echo
echo "prod_stack: passed in $(elapsed)"
printf '  %s\n' "${summary[@]}"
