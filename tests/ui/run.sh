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

work=$(mktemp -d /tmp/daap-ui.XXXXXX)
chmod 755 "$work"   # PostgreSQL and PgBouncer run as user postgres
export DAAP_VAR_DIR=$work/var
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DAAP_LISTEN=127.0.0.1:$port
cleanup() {
  local rc=$?
  [ $rc -ne 0 ] && [ -f "$DAAP_VAR_DIR/daap-server.log" ] && tail -n 20 "$DAAP_VAR_DIR/daap-server.log"
  "$src/scripts/local-mode" down >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM

"$src/scripts/local-mode" up "$build" 2>"$work/up.txt" || { cat "$work/up.txt"; echo "FAIL: local-mode up"; exit 1; }
shots=$build/tests/ui/screenshots
rm -rf "$shots"
node "$here/journey.mjs" "http://$DAAP_LISTEN" "$shots"
echo "screenshots: $shots"
