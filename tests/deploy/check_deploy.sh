#!/usr/bin/env bash
# deploy/ must be valid, so that a typo fails CI:
#   1. `kubectl kustomize deploy/` renders it (kustomization, YAML);
#   2. check_manifests.py checks every object structurally and its cross
#      references, and proves it catches injected mistakes (selftest);
#   3. libdaap loads the ConfigMap's templates and image map (when
#      DAAP_LIBRARY and PYTHONPATH point at the library and the bindings);
#   4. against kubesim: kinds it serves with create (Namespace, Service,
#      Secret) get `kubectl apply --dry-run=server` and then a real apply;
#      kinds it knows but only reads (Deployment) get
#      `kubectl apply --dry-run=client --validate=false`; kinds it does not
#      serve at all (ServiceAccount, Role, RoleBinding, ConfigMap) are covered
#      by step 2 only, since kubectl cannot map a kind the server lacks.
#   check_deploy.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: check_deploy.sh SOURCE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }

work=$(mktemp -d /tmp/daap-deploy.XXXXXX)
chmod 755 "$work"
cleanup() {
  "$src/tools/kubesim/kubesim-down" "$work/kubesim" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail=0

# 1 + 2
kubectl kustomize "$src/deploy" >"$work/rendered.yaml"
python3 "$here/check_manifests.py" check "$work/rendered.yaml" "$src/deploy/secret.example.yaml" "$src" || fail=1
python3 "$here/check_manifests.py" selftest "$work/rendered.yaml" "$src/deploy/secret.example.yaml" "$src" || fail=1

# 3
if [ -n "${DAAP_LIBRARY:-}" ]; then
  python3 - "$work/rendered.yaml" "$work/templates" <<'PY' || fail=1
import os, sys, yaml, daap
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cm = lambda name: next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == name)["data"]
os.makedirs(sys.argv[2])
for name, text in cm("daap-templates").items():
    with open(os.path.join(sys.argv[2], name), "w") as f:
        f.write(text)
cfg = cm("daap-config")
kube = daap.FakeKube(auto_ready=True)
with daap.Client(store="sqlite::memory:", kube=kube, secret_key_file=os.path.join(sys.argv[2], "..", "key"),
                 create_key=True, auto_migrate=True, template_dir=sys.argv[2],
                 image_map=cfg["DAAP_IMAGE_MAP"], namespace=cfg["DAAP_NAMESPACE"],
                 cluster_domain=cfg["DAAP_CLUSTER_DOMAIN"],
                 provisioning_deadline=int(cfg["DAAP_PROVISIONING_DEADLINE_MS"]) / 1000.0) as c:
    db = c.wait_ready(c.create("deploy-check", "platform", "renders the shipped templates").id, timeout=10)
    assert db.connection.host.endswith(".svc." + cfg["DAAP_CLUSTER_DOMAIN"]), db.connection.host
print("libdaap loads the ConfigMap's templates and image map, and provisions with them")
PY
else
  echo "note: DAAP_LIBRARY is not set; templates not loaded through libdaap"
fi

# 4
kubeconfig=$("$src/tools/kubesim/kubesim-up" "$work/kubesim" --no-backing)
kc() { kubectl --kubeconfig "$kubeconfig" --cache-dir "$work/kubectl-cache" "$@"; }
kc api-resources -o wide --no-headers >"$work/resources"
verbs_of() { # KIND APIVERSION -> the verbs kubesim serves for it, or nothing
  awk -v k="$1" -v av="$2" '$(NF-1) == k || $(NF-2) == k {print}' "$work/resources" \
    | awk -v av="$2" '{ for (i = 1; i <= NF; i++) if ($i == av) { print $(i + 3); exit } }'
}
python3 "$here/check_manifests.py" split "$work/rendered.yaml" "$work" >"$work/objects"
mkdir "$work/secrets"
python3 "$here/check_manifests.py" split "$src/deploy/secret.example.yaml" "$work/secrets" >>"$work/objects"
# Namespaces first: the namespaced objects need them.
sort -t$'\t' -k3,3 -s "$work/objects" | awk -F'\t' '$3 == "Namespace"' >"$work/order"
awk -F'\t' '$3 != "Namespace"' "$work/objects" >>"$work/order"
server=0 client=0 structural=0
while IFS=$'\t' read -r file apiversion kind ns name; do
  verbs=$(verbs_of "$kind" "$apiversion")
  what="$kind $ns/$name"
  if [[ ",$verbs," == *",create,"* ]]; then
    if kc apply --dry-run=server -f "$file" >"$work/out" 2>&1 && kc apply -f "$file" >>"$work/out" 2>&1 \
       && kc get -f "$file" -o name >>"$work/out" 2>&1; then
      echo "ok   server dry-run + apply: $what"; server=$((server + 1))
    else
      echo "FAIL server apply: $what"; cat "$work/out"; fail=1
    fi
  elif [ -n "$verbs" ]; then
    if kc apply --dry-run=client --validate=false -f "$file" >"$work/out" 2>&1; then
      echo "ok   client dry-run (kubesim serves $kind read-only): $what"; client=$((client + 1))
    else
      echo "FAIL client dry-run: $what"; cat "$work/out"; fail=1
    fi
  else
    echo "ok   structural check only (kubesim does not serve $kind): $what"; structural=$((structural + 1))
  fi
done <"$work/order"
echo "kubesim: $server applied, $client client dry-run, $structural structural only"
[ "$server" -ge 3 ] || { echo "FAIL: expected at least the Namespaces and the Service to reach kubesim"; fail=1; }

[ $fail -eq 0 ] && echo "PASS: deploy/ manifests"
exit $fail
