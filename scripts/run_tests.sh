#!/usr/bin/env bash
# The whole suite on SQLite, then on a throwaway PostgreSQL 15 cluster when its binaries are present.
# REQUIRE_POSTGRES=1 (set by CI) makes a missing PostgreSQL a failure instead of a skip.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
status=0

run_pytest() {  # pytest's exit 5 (no test ran) is a failure too
  "$PY" -m pytest -q -p no:cacheprovider "$@"
  local rc=$?
  [ $rc -eq 5 ] && echo "pytest ran no test" >&2
  return $rc
}

echo "== tests on SQLite =="
run_pytest "$@" || status=1

if [ "${SKIP_POSTGRES:-0}" != "1" ]; then
  pgdir=$(mktemp -d /tmp/shop-pg.XXXXXX)
  chmod 755 "$pgdir"
  url=$(bash scripts/pg_test_cluster.sh start "$pgdir/cluster")
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "== tests on PostgreSQL ($url) =="
    TEST_DATABASE_URL="$url" run_pytest "$@" || status=1
    bash scripts/pg_test_cluster.sh stop "$pgdir/cluster" >/dev/null 2>&1
  elif [ $rc -eq 3 ] && [ "${REQUIRE_POSTGRES:-0}" != "1" ]; then
    echo "== PostgreSQL 15 binaries not found: PostgreSQL run skipped ==" >&2
  else
    echo "== could not start PostgreSQL (exit $rc) ==" >&2
    status=1
  fi
  rm -rf "$pgdir"
fi
exit $status
