#!/usr/bin/env bash
# Debian's chromium and its driver for the page test (tests/test_page.py); nothing is downloaded but the packages.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
