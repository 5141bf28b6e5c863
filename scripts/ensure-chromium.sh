#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a tool's own browser
# download, which cannot work offline); CI and a new machine start without it.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium for the browser tests (a few minutes)…"
run_as_root=()
if [ "$(id -u)" -ne 0 ]; then
  run_as_root=(sudo)
fi
"${run_as_root[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${run_as_root[@]}" apt-get install -y chromium
/usr/bin/chromium --version
