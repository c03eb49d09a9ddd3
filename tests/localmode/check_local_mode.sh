#!/usr/bin/env bash
# Local mode as a new user meets it (make up / make down, make run):
# scripts/local-mode brings up kubesim with real backing and daap-server,
# a database created with curl becomes ready, psql connects through its
# PgBouncer with the returned URI, and stopping leaves no process behind.
# It runs under umask 000: daap's state must be private all the same.
#   check_local_mode.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=${1:?usage: check_local_mode.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: check_local_mode.sh BUILD_DIR SOURCE_DIR}

. "$src/tests/support/localmode-env.sh" daap-localmode
url=http://$DAAP_LISTEN
fail() { echo "FAIL: $*"; exit 1; }
strays() { pgrep -f "$work" || true; }
state=$DAAP_VAR_DIR/daap
umask 000

# daap's tree is 0700 and its files 0600; var/ holds only daap's and kubesim's trees.
check_private() {
  local loose
  [ "$(stat -c %a "$state")" = 700 ] || fail "$state is mode $(stat -c %a "$state"), not 0700"
  loose=$(find "$state" \( -type f ! -perm 0600 \) -o \( -type d ! -perm 0700 \) -printf '%m %p\n')
  [ -z "$loose" ] || fail "not private under umask 000: $loose"
  for f in daap.db daap.db-wal daap.db-shm secret.key daap-server.log daap-server.pid; do
    [ -e "$state/$f" ] || fail "no $f in $state"
  done
  [ "$(ls -A "$DAAP_VAR_DIR" | tr '\n' ' ')" = "daap kubesim " ] || fail "var/ holds more than daap/ and kubesim/: $(ls -A "$DAAP_VAR_DIR")"
  echo "ok: daap's state is private under umask 000"
}

# A database all the way to a query through PgBouncer.
provision() {
  local name=$1 id body uri
  body=$(curl -fsS -X POST "$url/databases" -H 'Content-Type: application/json' \
         -d "{\"name\": \"$name\", \"owner_team\": \"payments\", \"purpose\": \"local mode test\"}")
  id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$body")
  for _ in $(seq 1 300); do
    body=$(curl -fsS "$url/databases/$id")
    uri=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["connection"]["uri"] if d["status"] == "ready" else "")' <<<"$body")
    [ -n "$uri" ] && break
    sleep 0.1
  done
  [ -n "$uri" ] || fail "$name did not become ready: $body"
  [ "$(psql "$uri" -XAtc 'select current_database()')" = "$name" ] || fail "psql through the pooler did not reach $name"
  echo "ok: $name ready and connectable"
}

# make up / make down
"$src/scripts/local-mode" up "$build" 2>"$work/up.txt" || { cat "$work/up.txt"; fail "local-mode up"; }
grep -q "curl -sS -X POST $url/databases" "$work/up.txt" || fail "up does not show how to create a database"
[ -f "$state/daap.db" ] || fail "no SQLite store in the state directory"
[ "$(sqlite3 "$state/daap.db" "select count(*) from sqlite_master where name = 'databases'")" = 1 ] \
  || fail "the store was not migrated"
provision orders
check_private
"$src/scripts/local-mode" up "$build" 2>/dev/null && fail "a second up must refuse while daap runs"
"$src/scripts/local-mode" down 2>/dev/null
sleep 0.5
[ -z "$(strays)" ] || fail "processes left after down: $(strays | xargs ps -o pid=,args= -p)"
echo "ok: down leaves no process"

# The flat layout of earlier versions (var/daap.db, ...) moves into var/daap.
mv "$state"/* "$DAAP_VAR_DIR/" && rmdir "$state"

# make run: foreground until interrupted; the store survives a restart.
setsid "$src/scripts/local-mode" run "$build" >"$work/run.txt" 2>&1 &
runner=$!
for _ in $(seq 1 300); do curl -fsS "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$url/databases?name=orders" | grep -q '"name":"orders"' || fail "the record did not survive a restart"
grep -q "moved daap's state" "$work/run.txt" || fail "run did not say it moved the flat layout's state"
check_private
provision invoices
kill -INT -- "-$runner"
for _ in $(seq 1 150); do kill -0 "$runner" 2>/dev/null || break; sleep 0.1; done
kill -0 "$runner" 2>/dev/null && fail "run did not stop on Ctrl-C"
sleep 0.5
[ -z "$(strays)" ] || fail "processes left after Ctrl-C: $(strays | xargs ps -o pid=,args= -p)"
echo "ok: run stops everything on Ctrl-C"
echo "1 passed, 0 failed"
