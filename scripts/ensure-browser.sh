#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (packages chromium and chromium-driver) with
# Playwright. Install them when this machine can (root with apt-get); otherwise say so, and the
# browser tests are skipped with the same reason. Playwright never downloads a browser here.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium and chromium-driver for the browser tests."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; }
  exit 0
fi
echo "No /usr/bin/chromium and no way to install it here (needs root and apt-get):"
echo "the browser tests will be skipped. Install Debian's chromium to run them."
