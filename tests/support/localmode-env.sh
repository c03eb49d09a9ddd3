# Sourced by tests that run scripts/local-mode in a directory of their own:
#   . "$src/tests/support/localmode-env.sh" PREFIX
# Needs $src (the source tree). Sets $work (a fresh /tmp/PREFIX.XXXXXX),
# DAAP_VAR_DIR and DAAP_LISTEN (a free loopback port, testports.py), so a test never
# touches var/ or 127.0.0.1:8080. On exit it prints the server log's tail
# after a failure, stops local mode and removes $work.
work=$(mktemp -d "/tmp/${1:?usage: . localmode-env.sh PREFIX}.XXXXXX")
chmod 755 "$work"   # PostgreSQL and PgBouncer run as user postgres
export DAAP_VAR_DIR=$work/var
port=$(python3 "$src/tests/support/testports.py") || exit 1   # DAAP_TEST_PORT_BASE's range, if set
export DAAP_LISTEN=127.0.0.1:$port
localmode_cleanup() {
  local rc=$?
  [ $rc -ne 0 ] && [ -f "$DAAP_VAR_DIR/daap/daap-server.log" ] && tail -n 20 "$DAAP_VAR_DIR/daap/daap-server.log"
  "$src/scripts/local-mode" down >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap localmode_cleanup EXIT INT TERM
