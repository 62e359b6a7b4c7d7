#!/usr/bin/env bash
# What scripts/prod_stack.sh needs outside Python, from Debian's packages, installed only when missing (idempotent):
# PostgreSQL 15 (its binaries: the stack starts a cluster of its own), Redis and nginx, and wrk for `make bench-http`
# (a small package).
set -euo pipefail
. "$(dirname "$0")/apt_missing.sh"

need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || command -v initdb >/dev/null 2>&1 || need+=(postgresql-15)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null 2>&1 || need+=(wrk)

install_missing install_stack ${need[@]+"${need[@]}"}
/usr/sbin/nginx -v 2>&1 || true
