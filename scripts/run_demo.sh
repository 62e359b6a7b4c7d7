#!/usr/bin/env bash
# Embedded default: SQLite under instance/, localstripe on loopback, the API on 127.0.0.1:5000 with demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
export FLASK_APP=wsgi.py SHOP_ENV=development
export SHOWCASE_DEMO=1  # /showcase marks its figures as demo data
export PORT="${PORT:-5000}" STRIPE_PORT="${STRIPE_PORT:-8420}"
export STRIPE_API_BASE="http://127.0.0.1:${STRIPE_PORT}"
export STRIPE_SECRET_KEY="${STRIPE_SECRET_KEY:-sk_test_localstripe}"
export STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_localstripe_dev}"
BIN=.venv/bin
mkdir -p instance

$BIN/flask db upgrade
$BIN/flask shop load-reference
$BIN/flask shop load-demo

$BIN/python -m shop.payments.localstripe_server --host 127.0.0.1 --port "$STRIPE_PORT" &
stripe_pid=$!
trap 'kill $stripe_pid 2>/dev/null || true' EXIT INT TERM
$BIN/python - <<PY
import json, urllib.request
from shop.payments.localstripe_server import wait_until_ready
wait_until_ready("$STRIPE_API_BASE")
# localstripe delivers signed webhooks to the app, like Stripe would.
body = json.dumps({"url": "http://127.0.0.1:$PORT/api/v1/payments/stripe/webhook",
                   "secret": "$STRIPE_WEBHOOK_SECRET"}).encode()
urllib.request.urlopen(urllib.request.Request("$STRIPE_API_BASE/_config/webhooks/shop", data=body,
                       headers={"Content-Type": "application/json"}, method="POST"))
PY

cat <<MSG

  API:        http://127.0.0.1:${PORT}/api/v1
  Docs:       http://127.0.0.1:${PORT}/api/docs   (OpenAPI: /api/openapi.json)
  Showcase:   http://127.0.0.1:${PORT}/showcase   (public page for the center's screens)
  Stripe:     localstripe at ${STRIPE_API_BASE} (in memory, loopback only)
  Demo accounts (demo data, local only):
MSG
$BIN/flask shop demo-accounts
echo
# No control socket: its default path (~/.gunicorn/gunicorn.ctl) is shared with every other gunicorn of this user.
$BIN/gunicorn --bind "127.0.0.1:${PORT}" --workers 2 --threads 4 --no-control-socket --access-logfile - wsgi:app &
server_pid=$!
# Ctrl-C, a TERM to make, or the server dying: stop both servers either way.
trap 'kill $server_pid $stripe_pid 2>/dev/null || true' EXIT INT TERM
wait $server_pid
