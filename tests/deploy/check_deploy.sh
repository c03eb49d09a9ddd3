#!/usr/bin/env bash
# deploy/ must be valid, so that a typo fails CI:
#   1. `kubectl kustomize deploy/` renders it (kustomization, YAML);
#   2. check_manifests.py checks what no API server checks (cross references,
#      least privilege, configuration keys, templates, Dockerfile), and proves
#      it catches injected mistakes (selftest);
#   3. libdaap loads the ConfigMap's templates and image map (when
#      DAAP_LIBRARY and PYTHONPATH point at the library and the bindings);
#   4. the WHOLE kustomization (and secret.example.yaml) goes to kubesim,
#      which serves every kind deploy/ uses and validates names, fields
#      (fieldValidation=Strict) and each kind's rules as an API server does:
#      `kubectl apply -k deploy/ --dry-run=server`, a real apply, a re-apply
#      that must change nothing, and a server-side apply over it without
#      --force-conflicts (kubectl's client-side to server-side migration).
#      Copies with one injected typo each (check_manifests.py mutants) must be
#      refused, both before and after the real apply (create and patch paths).
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
# No "daap" namespace at start: deploy/ must create every namespace it uses.
kubeconfig=$("$src/tools/kubesim/kubesim-up" "$work/kubesim" --no-backing --namespace default)
kc() { kubectl --kubeconfig "$kubeconfig" --cache-dir "$work/kubectl-cache" "$@"; }
secrets="$src/deploy/secret.example.yaml"
python3 "$here/check_manifests.py" split "$work/rendered.yaml" "$work" >"$work/objects"
objects=$(($(wc -l <"$work/objects") + $(grep -c '^kind: Secret' "$secrets" || true)))
step() { # NAME COMMAND...: runs it; its output is in $work/out; fails the test on error or a warning
  local name=$1; shift
  if "$@" >"$work/out" 2>&1 && ! grep -q '^Warning:' "$work/out"; then
    echo "ok   $name"
  else
    echo "FAIL $name:"; sed 's/^/     /' "$work/out"; fail=1
  fi
}
lines() { # PATTERN: how many lines of $work/out match
  grep -c -- "$1" "$work/out" || true
}
# A real API server refuses namespaced objects, even under --dry-run=server, in a namespace that
# does not exist yet: the Namespaces go first.
awk -F'\t' '$3 == "Namespace" {print "-f"; print $1}' "$work/objects" >"$work/ns-args"
mapfile -t ns_args <"$work/ns-args"
step "Namespaces first: apply" kc apply "${ns_args[@]}"

mutants() { # WHEN: every copy with an injected typo must be refused
  python3 "$here/check_manifests.py" mutants "$work/rendered.yaml" "$work" >"$work/mutants" || fail=1
  local caught=0 total=0 file expected name
  while IFS=$'\t' read -r file expected name; do
    total=$((total + 1))
    if kc apply --dry-run=server -f "$file" >"$work/out" 2>&1; then
      echo "FAIL kubesim accepted a manifest with a mistake ($name, $1)"; fail=1
    elif ! grep -qF -- "$expected" "$work/out"; then
      echo "FAIL kubesim refused the mistake ($name, $1), but not with: $expected"; sed 's/^/     /' "$work/out"
      fail=1
    else
      caught=$((caught + 1))
    fi
  done <"$work/mutants"
  echo "ok   kubesim refused $caught of $total injected mistakes ($1)"
}

step "kustomization: server dry-run (kubectl apply -k deploy/ --dry-run=server)" \
  kc apply -k "$src/deploy" --dry-run=server
step "example Secrets: server dry-run" kc apply -f "$secrets" --dry-run=server
# The injected mistakes are meaningful only while the manifests themselves pass.
[ $fail -eq 0 ] && mutants "create path"
step "kustomization: apply" kc apply -k "$src/deploy"
step "example Secrets: apply" kc apply -f "$secrets"
step "every object is stored" kc get -k "$src/deploy" -o name
stored=$(lines /)
kc get -f "$secrets" -o name >"$work/out" 2>&1 || true
stored=$((stored + $(lines '^secret/')))
if [ "$stored" -eq "$objects" ]; then
  echo "ok   kubesim stores all $objects objects"
else
  echo "FAIL kubesim stores $stored objects, deploy/ has $objects"; fail=1
fi
step "re-apply: nothing changes" kc apply -k "$src/deploy"
if [ "$(lines ' unchanged$')" -ne "$(wc -l <"$work/objects")" ]; then
  echo "FAIL a second apply changed objects:"; sed 's/^/     /' "$work/out"; fail=1
fi
step "server-side apply over the client-side apply, without --force-conflicts" \
  kc apply --server-side -k "$src/deploy"
if [ "$(lines ' serverside-applied$')" -ne "$(wc -l <"$work/objects")" ]; then
  echo "FAIL not every object was server-side applied:"; sed 's/^/     /' "$work/out"; fail=1
fi
step "example Secrets: server-side apply, without --force-conflicts" kc apply --server-side -f "$secrets"
[ $fail -eq 0 ] && mutants "patch path"

[ $fail -eq 0 ] && echo "PASS: deploy/ manifests"
exit $fail
