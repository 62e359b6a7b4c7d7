#!/usr/bin/env bash
# What the showcase needs outside Python, from Debian's packages, installed only when missing (idempotent):
# Chromium for the headless-browser test, a CJK font so its Chinese renders (not boxes), Node.js + npm for
# `npm ci` (ECharts).
set -euo pipefail
. "$(dirname "$0")/apt_missing.sh"

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed" || need+=(fonts-noto-cjk)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)

install_missing install_browser ${need[@]+"${need[@]}"}
[ -x /usr/bin/chromium ] && /usr/bin/chromium --version 2>/dev/null || true
