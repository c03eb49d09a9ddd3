#!/usr/bin/env bash
# Runs every kubesim test (unit/API, faults, real kubectl, real PostgreSQL + PgBouncer, scale,
# start/stop). Ends with "N passed, N failed"; exits non-zero on any failure.
#   tools/kubesim/tests/run.sh                 all modules
#   tools/kubesim/tests/run.sh test_backing    selected modules
# Env: PYTHON (default python3), KUBESIM_TEST_SCALE (default 10000), KUBESIM_TEST_CYCLES (default 20).
set -u
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
py=${PYTHON:-python3}
tmp=$(mktemp -d /tmp/kubesim-test.XXXXXX)
chmod 755 "$tmp"     # PostgreSQL and PgBouncer run as user postgres and must reach the state dirs
export KUBESIM_TEST_TMP=$tmp
cleanup() {
    for d in "$tmp"/*/; do
        [ -d "$d" ] && "$here/../kubesim-down" "$d" >/dev/null 2>&1
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
command -v kubectl >/dev/null || echo "skip: kubectl not found on PATH: the kubectl tests are skipped"
"$py" -W ignore "$here/runner.py" "$@"
