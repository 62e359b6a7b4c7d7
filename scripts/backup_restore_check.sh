#!/usr/bin/env bash
# Backup and restore, proven (issue 12): a throwaway PostgreSQL 15 cluster gets the schema (migrations) and the
# demo data (orders paid, shipped, refunded), is dumped with pg_dump -Fc, the dump is restored with pg_restore
# into a second fresh cluster, and scripts/backup_compare.py compares every table's rows (count and md5 in
# primary-key order), every sequence and the order totals. Exit 1 on any difference; both clusters are stopped.
#
# Usage: scripts/backup_restore_check.sh [--selftest]
#   --selftest  afterwards spoils the restored copy (one order total changed, one row deleted) and fails unless
#               the comparison reports exactly that: the check can fail.
# Exit 3 (like scripts/pg_test_cluster.sh): PostgreSQL 15 is not available here.
# SHOP_PYTHON=path/to/python overrides .venv/bin/python (not PYTHON: the Makefile's base interpreter); PG_BINDIR the PostgreSQL 15 binaries' directory.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${SHOP_PYTHON:-.venv/bin/python}
BIN=$(dirname "$PY")
selftest=()
case "${1:-}" in
  "") ;;
  --selftest) selftest=(--selftest) ;;
  *) echo "usage: $0 [--selftest]" >&2; exit 2 ;;
esac

pg_bin=""
for d in "${PG_BINDIR:-}" /usr/lib/postgresql/15/bin /usr/pgsql-15/bin; do
  if [ -n "$d" ] && [ -x "$d/pg_dump" ] && [ -x "$d/pg_restore" ]; then pg_bin=$d; break; fi
done
[ -n "$pg_bin" ] || { echo "backup_restore_check: pg_dump/pg_restore 15 not found (apt-get install postgresql-15)" >&2; exit 3; }

work=$(mktemp -d /tmp/shop-backup.XXXXXX)
chmod 755 "$work"  # the clusters run as the postgres OS user when we are root
cleanup() {
  bash scripts/pg_test_cluster.sh stop "$work/source" >/dev/null 2>&1 || true
  bash scripts/pg_test_cluster.sh stop "$work/restored" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
start_cluster() {  # its initdb chatter goes to a log, shown only if the start fails
  bash scripts/pg_test_cluster.sh start "$work/$1" 2>"$work/$1.log" || { cat "$work/$1.log" >&2; return 1; }
}
libpq() { echo "${1/postgresql+psycopg:\/\//postgresql://}"; }
started=$SECONDS

source_url=$(start_cluster source)
echo "== source cluster: $source_url; loading migrations and the demo data"
# && and not set -e: errexit is off inside a command whose status is tested (the || below).
(
  export DATABASE_URL="$source_url" SHOP_ENV=development FLASK_APP=wsgi.py LOG_LEVEL=WARNING
  { "$BIN/flask" db upgrade >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log" >&2; false; }; } &&
    "$BIN/flask" shop load-reference &&
    "$BIN/flask" shop load-demo
) || { echo "backup_restore_check: loading the demo data failed" >&2; exit 1; }

echo "== pg_dump -Fc"
"$pg_bin/pg_dump" -Fc --no-owner -d "$(libpq "$source_url")" -f "$work/shop.dump"
ls -l "$work/shop.dump" | awk '{print "dump: " $5 " bytes"}'

restored_url=$(start_cluster restored)
echo "== pg_restore into a fresh cluster: $restored_url"
"$pg_bin/pg_restore" --no-owner --exit-on-error -d "$(libpq "$restored_url")" "$work/shop.dump"

echo "== comparing"
status=0
"$PY" scripts/backup_compare.py "$source_url" "$restored_url" "${selftest[@]}" || status=$?
echo "backup_restore_check: $([ $status -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - started)) s"
exit $status
