#!/usr/bin/env bash
# examples/provision end to end against kubesim WITH real backing (a real
# PostgreSQL and one PgBouncer per Pooler), then kubectl checks that no
# Cluster, Pooler or pooler Deployment is left behind, nor what CNPG made
# for them: the -app Secret and the -rw/-ro/-r and pooler Services.
#   run_provision.sh PROVISION_BIN SOURCE_DIR
set -euo pipefail
provision=${1:?usage: run_provision.sh PROVISION_BIN SOURCE_DIR}
src=${2:?usage: run_provision.sh PROVISION_BIN SOURCE_DIR}

for tool in kubectl pg_ctl pgbouncer; do
  if ! command -v "$tool" >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/"$tool" /usr/sbin/"$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (scripts/install-deps installs it)"; exit 77
  fi
done

work=$(mktemp -d /tmp/daap-example.XXXXXX)
chmod 755 "$work"  # kubesim runs PostgreSQL and PgBouncer as user postgres
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -f "$work/kubesim/kubesim.log" ]; then
    echo "--- last kubesim log lines"; tail -n 30 "$work/kubesim/kubesim.log"
  fi
  "$src/tools/kubesim/kubesim-down" "$work/kubesim" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM

kubeconfig=$("$src/tools/kubesim/kubesim-up" "$work/kubesim" --ready-delay 0.5 --pooler-delay 0.3)
kc() { kubectl --kubeconfig "$kubeconfig" --cache-dir "$work/kubectl-cache" "$@"; }

out=$("$provision" --store "sqlite://$work/daap.db" --kubeconfig "$kubeconfig" --key "$work/key" \
        --name ex-provision --team examples --timeout 120 --migrate 2>&1) || {
  echo "$out"; echo "FAIL: provision exited non-zero"; exit 1; }
echo "$out"

fail=0
for want in "created ex-provision" "status ready" "SELECT 1 -> 1" "updated:" "deleted: Pooler and Cluster are gone" \
            "get after delete: not_found"; do
  grep -qF "$want" <<<"$out" || { echo "FAIL: output lacks '$want'"; fail=1; }
done

# The example really went through PgBouncer: the host it used is the Pooler
# Service's address, not the backing PostgreSQL's.
backing=$(kc get --raw /kubesim/info | python3 -c 'import json,sys; b=json.load(sys.stdin)["backing"]; print("%s:%s" % (b["host"], b["port"]))')
used=$(sed -n 's/.*SELECT 1 -> 1 .* via \(.*\))$/\1/p' <<<"$out")
if [ -z "$used" ] || [ "$used" = "$backing" ]; then
  echo "FAIL: SELECT 1 went to '$used', not to a PgBouncer (the backing PostgreSQL is $backing)"; fail=1
fi

# Nothing is left in the cluster.
for kind in clusters.postgresql.cnpg.io poolers.postgresql.cnpg.io deployments.apps; do
  left=$(kc get "$kind" -n daap -o name)
  if [ -n "$left" ]; then echo "FAIL: $kind left behind: $left"; fail=1; fi
done

# The objects CNPG made for the database are owned by the Cluster and the
# Pooler, so the garbage collector removes them once those are gone; it
# runs in the background (as in Kubernetes), so give it a few seconds.
db=daap-ex-provision
owned="secret/$db-app service/$db-rw service/$db-ro service/$db-r service/$db-pooler"
left=$owned
for _ in $(seq 1 50); do
  # shellcheck disable=SC2086 # one argument per object
  left=$(kc get $owned -n daap -o name --ignore-not-found 2>/dev/null) || left="(kubectl get failed)"
  [ -z "$left" ] && break
  sleep 0.2
done
if [ -n "$left" ]; then echo "FAIL: left behind after delete: $(tr '\n' ' ' <<<"$left")"; fail=1; fi
# Nor any other Secret or Service CNPG labelled with the Cluster.
for kind in secrets services; do
  left=$(kc get "$kind" -n daap -l "cnpg.io/cluster=$db" -o name)
  if [ -n "$left" ]; then echo "FAIL: $kind of $db left behind: $left"; fail=1; fi
done
[ $fail -eq 0 ] && echo "PASS: provision example created, used, updated and deleted a database; nothing left"
exit $fail
