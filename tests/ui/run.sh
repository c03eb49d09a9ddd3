#!/usr/bin/env bash
# The console's browser journey against local mode (scripts/local-mode up),
# with its own state directory and a free port, so it never touches var/ or
# 127.0.0.1:8080 and can run beside other tests.
#   run.sh BUILD_DIR SOURCE_DIR
# Needs Debian's chromium and tests/ui/node_modules (scripts/install-deps
# installs both). Without them it exits 77 (ctest: skipped), except under
# CI=true, where a missing browser is a failure.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: run.sh BUILD_DIR SOURCE_DIR}
here=$src/tests/ui
chromium=${DAAP_CHROMIUM:-/usr/bin/chromium}

missing=""
[ -x "$chromium" ] || missing="$missing chromium($chromium)"
command -v node >/dev/null 2>&1 || missing="$missing node"
[ -d "$here/node_modules/playwright-core" ] || missing="$missing playwright-core"
[ -d "$here/node_modules/axe-core" ] || missing="$missing axe-core"
command -v psql >/dev/null 2>&1 || missing="$missing psql"
if [ -n "$missing" ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL: the browser tests need:$missing (run scripts/install-deps)"
    exit 1
  fi
  echo "SKIPPED: the browser tests need:$missing (run scripts/install-deps)"
  exit 77
fi

. "$src/tests/support/localmode-env.sh" daap-ui

"$src/scripts/local-mode" up "$build" 2>"$work/up.txt" || { cat "$work/up.txt"; echo "FAIL: local-mode up"; exit 1; }
shots=$build/tests/ui/screenshots
rm -rf "$shots"
node "$here/journey.mjs" "http://$DAAP_LISTEN" "$shots"
echo "screenshots: $shots"
