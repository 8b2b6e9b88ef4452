#!/usr/bin/env bash
# Runs before `npm test`: the dashboard's browser test drives Debian's chromium through
# playwright-core (no browser download). Install it when missing and we may; otherwise
# say how, and the browser test will fail with the same advice.
set -u
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "pretest: chromium is missing; installing Debian's chromium for test/dashboard.test.ts"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && exit 0
fi
echo "pretest: no chromium at $CHROMIUM. Install it (Debian: sudo apt-get install -y chromium) or set CHROMIUM_PATH." >&2
exit 0
