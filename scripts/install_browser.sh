#!/usr/bin/env bash
# What the showcase needs outside Python, from Debian's packages, installed only when missing (idempotent):
# Chromium for the headless-browser test, a CJK font so its Chinese renders (not boxes), Node.js + npm for
# `npm ci` (ECharts). Run as root (CI runs as root); others may be installing at the same time, hence the lock wait.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed" || need+=(fonts-noto-cjk)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)

if [ ${#need[@]} -eq 0 ]; then
  echo "install_browser: chromium, fonts-noto-cjk, node and npm already present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_browser: missing ${need[*]}; run as root to install them" >&2
  exit 1
fi
echo "install_browser: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
[ -x /usr/bin/chromium ] && /usr/bin/chromium --version || true
