#!/usr/bin/env bash
# Debian's packages the suite drives beside Python: chromium and its driver for the page test (tests/test_page.py),
# wrk for the serving benchmarks (benchmarks/wrk.py); nothing is downloaded but the packages.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && [ -x /usr/bin/wrk ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends chromium chromium-driver wrk >/dev/null
