#!/usr/bin/env bash
# What scripts/prod_stack.sh needs outside Python, from Debian's packages, installed only when missing (idempotent):
# PostgreSQL 15 (its binaries: the stack starts a cluster of its own), Redis and nginx, and wrk for `make bench-http`
# (a small package). Run as root (CI runs as root); others may be installing at the same time, hence the lock wait.
set -euo pipefail

need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || command -v initdb >/dev/null 2>&1 || need+=(postgresql-15)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null 2>&1 || need+=(wrk)

if [ ${#need[@]} -eq 0 ]; then
  echo "install_stack: postgresql-15, redis-server, nginx and wrk already present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_stack: missing ${need[*]}; run as root to install them" >&2
  exit 1
fi
echo "install_stack: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
# Debian may start its own nginx (port 80) and PostgreSQL services: the stack uses neither (its own cluster, config
# and ports).
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
/usr/sbin/nginx -v 2>&1 || true
