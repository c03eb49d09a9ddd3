#!/usr/bin/env python3
"""Structural checks of deploy/ that no API server makes for us.

check_deploy.sh sends every object to kubesim, which validates names, fields
(fieldValidation=Strict) and each kind's rules as an API server does. What an
API server does not check is checked here: cross references (RoleBinding ->
Role and ServiceAccount, Deployment -> ConfigMaps, Secrets, volumes, probes;
Service -> pod labels and port names), the least-privilege RBAC rules of
issue 6, stricter names, configuration keys against daap-server's option
table, the templates against the built-in ones, and the Dockerfile against
the manifests.

  check_manifests.py check RENDERED.yaml SECRET_EXAMPLE.yaml SOURCE_DIR
  check_manifests.py split RENDERED.yaml OUT_DIR     (one file per object; prints a table)
  check_manifests.py selftest RENDERED.yaml SECRET_EXAMPLE.yaml SOURCE_DIR
  check_manifests.py mutants RENDERED.yaml OUT_DIR   (copies with one mistake each that an API
                                                      server must refuse; prints FILE, EXPECTED
                                                      error text, DESCRIPTION)
"""
import copy
import os
import pathlib
import re
import sys

import yaml

API_VERSIONS = {
    "Namespace": "v1", "ServiceAccount": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1",
    "Deployment": "apps/v1", "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
}
CLUSTER_SCOPED = {"Namespace"}
REQUIRED = [("Namespace", None, "daap-system"), ("Namespace", None, "daap"),
            ("ServiceAccount", "daap-system", "daap-server"), ("Role", "daap", "daap-server"),
            ("RoleBinding", "daap", "daap-server"), ("ConfigMap", "daap-system", "daap-config"),
            ("ConfigMap", "daap-system", "daap-templates"), ("Deployment", "daap-system", "daap-server"),
            ("Service", "daap-system", "daap-server")]
# Issue 6: exactly these rights, nothing more.
EXPECTED_RULES = {
    ("postgresql.cnpg.io", "clusters"): {"create", "get", "list", "watch", "patch", "delete"},
    ("postgresql.cnpg.io", "poolers"): {"create", "get", "list", "watch", "patch", "delete"},
    ("", "secrets"): {"get"},
    ("", "services"): {"get", "list", "watch"},
    ("apps", "deployments"): {"get", "list", "watch"},
}
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


class Checker:
    def __init__(self, docs, secrets, source):
        self.docs = [d for d in docs if d]
        self.secrets = [d for d in secrets if d]
        self.source = pathlib.Path(source)
        self.errors = []
        self.index = {}

    def err(self, where, msg):
        self.errors.append("%s: %s" % (where, msg))

    @staticmethod
    def where(d):
        md = d.get("metadata") or {}
        return "%s %s/%s" % (d.get("kind"), md.get("namespace", "-"), md.get("name"))

    def get(self, kind, ns, name):
        return self.index.get((kind, ns, name))

    # ---------------------------------------------------------------- generic

    def generic(self, d):
        w = self.where(d)
        kind = d.get("kind")
        if kind not in API_VERSIONS:
            return self.err(w, "unexpected kind %r" % kind)
        if d.get("apiVersion") != API_VERSIONS[kind]:
            self.err(w, "apiVersion %r, want %r" % (d.get("apiVersion"), API_VERSIONS[kind]))
        md = d.get("metadata")
        if not isinstance(md, dict) or not md.get("name"):
            return self.err(w, "metadata.name is required")
        name_re = DNS1123_LABEL if kind in ("Namespace", "Service", "Deployment") else DNS1123_SUBDOMAIN
        if not name_re.match(md["name"]) or len(md["name"]) > 63:
            self.err(w, "metadata.name %r is not a valid name" % md["name"])
        ns = md.get("namespace")
        if kind in CLUSTER_SCOPED:
            if ns:
                self.err(w, "a %s has no namespace" % kind)
        elif not ns:
            self.err(w, "metadata.namespace is required (kustomization sets none)")
        elif ("Namespace", None, ns) not in self.index:
            self.err(w, "namespace %r is not created by these manifests" % ns)
        for k, v in (md.get("labels") or {}).items():
            if not isinstance(v, str):
                self.err(w, "label %s must be a string" % k)
        key = (kind, None if kind in CLUSTER_SCOPED else ns, md["name"])
        if key in self.seen:
            self.err(w, "defined twice")
        self.seen.add(key)

    # ---------------------------------------------------------------- kinds

    def rbac(self):
        role = self.get("Role", "daap", "daap-server")
        if role:
            got = {}
            for i, rule in enumerate(role.get("rules") or []):
                for field in ("apiGroups", "resources", "verbs"):
                    if not isinstance(rule.get(field), list) or not rule[field]:
                        self.err("Role daap/daap-server", "rules[%d].%s must be a non-empty list" % (i, field))
                        break
                    if "*" in rule[field]:
                        self.err("Role daap/daap-server", "rules[%d].%s uses a wildcard" % (i, field))
                else:
                    if rule.get("resourceNames") is not None and set(rule["verbs"]) & {"list", "watch", "create"}:
                        self.err("Role daap/daap-server", "resourceNames cannot restrict list/watch/create")
                    for g in rule["apiGroups"]:
                        for r in rule["resources"]:
                            got.setdefault((g, r), set()).update(rule["verbs"])
            if got != EXPECTED_RULES:
                extra = {k: sorted(v - EXPECTED_RULES.get(k, set())) for k, v in got.items()
                         if v - EXPECTED_RULES.get(k, set())}
                missing = {k: sorted(v - got.get(k, set())) for k, v in EXPECTED_RULES.items()
                           if v - got.get(k, set())}
                self.err("Role daap/daap-server", "rules differ from least privilege: extra %s, missing %s"
                         % (extra, missing))
        for d in self.docs:
            if d.get("kind") != "RoleBinding":
                continue
            w = self.where(d)
            ref = d.get("roleRef") or {}
            if ref.get("apiGroup") != "rbac.authorization.k8s.io" or ref.get("kind") not in ("Role", "ClusterRole"):
                self.err(w, "roleRef needs apiGroup rbac.authorization.k8s.io and kind Role")
            elif ref.get("kind") == "Role" and not self.get("Role", d["metadata"]["namespace"], ref.get("name")):
                self.err(w, "roleRef names Role %r, which is not in namespace %s"
                         % (ref.get("name"), d["metadata"]["namespace"]))
            subjects = d.get("subjects") or []
            if not subjects:
                self.err(w, "no subjects")
            for s in subjects:
                if s.get("kind") != "ServiceAccount" or not self.get("ServiceAccount", s.get("namespace"), s.get("name")):
                    self.err(w, "subject %r is not a ServiceAccount defined here (namespace is required)" % s)

    def configmaps(self):
        for d in self.docs:
            if d.get("kind") != "ConfigMap":
                continue
            data = d.get("data")
            if not isinstance(data, dict) or not data:
                self.err(self.where(d), "data is required")
                continue
            for k, v in data.items():
                if not CONFIGMAP_KEY.match(k) or not isinstance(v, str):
                    self.err(self.where(d), "key %r must be a valid key with a string value" % k)
        cfg = self.get("ConfigMap", "daap-system", "daap-config")
        if cfg:
            known = self.server_env_names()
            for k, v in (cfg.get("data") or {}).items():
                if known is not None and k not in known:
                    self.err("ConfigMap daap-config", "%s is not a daap-server option (known: %s)"
                             % (k, ", ".join(sorted(known))))
                if k.endswith("_MS") and not re.fullmatch(r"[0-9]+", str(v)):
                    self.err("ConfigMap daap-config", "%s=%r: libdaap reads *_MS variables as plain "
                             "milliseconds" % (k, v))
            if "DAAP_STORE" in (cfg.get("data") or {}):
                self.err("ConfigMap daap-config", "the store URI carries a password: it belongs in a Secret")
        tpl = self.get("ConfigMap", "daap-system", "daap-templates")
        if tpl:
            for name in ("cluster.yaml", "pooler.yaml"):
                builtin = self.source / "libdaap" / "manifest" / "templates" / name
                got = (tpl.get("data") or {}).get(name)
                if got is None:
                    self.err("ConfigMap daap-templates", "%s is missing" % name)
                elif builtin.exists() and got != builtin.read_text():
                    self.err("ConfigMap daap-templates", "%s differs from %s: copy it again"
                             % (name, builtin.relative_to(self.source)))

    def server_env_names(self):
        opts = self.source / "server" / "options.c"
        if not opts.exists():
            return None
        return set(re.findall(r'"(DAAP_[A-Z_]+)"', opts.read_text()))

    def deployment(self):
        d = self.get("Deployment", "daap-system", "daap-server")
        if not d:
            return
        w = self.where(d)
        spec = d.get("spec") or {}
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        tmpl = spec.get("template") or {}
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        if not sel:
            self.err(w, "spec.selector.matchLabels is required")
        if any(labels.get(k) != v for k, v in sel.items()):
            self.err(w, "selector %s does not match the pod labels %s" % (sel, labels))
        pod = tmpl.get("spec") or {}
        sa = pod.get("serviceAccountName")
        if not self.get("ServiceAccount", "daap-system", sa):
            self.err(w, "serviceAccountName %r is not defined here" % sa)
        psc = pod.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True or not psc.get("runAsUser"):
            self.err(w, "the pod must run as a non-root user")
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        containers = pod.get("containers") or []
        if len(containers) != 1:
            self.err(w, "want exactly one container")
        for c in containers:
            cw = "%s container %s" % (w, c.get("name"))
            if not c.get("name") or not c.get("image"):
                self.err(cw, "name and image are required")
            ports = {p.get("name"): p for p in c.get("ports") or []}
            for p in ports.values():
                if not isinstance(p.get("containerPort"), int):
                    self.err(cw, "containerPort must be an integer")
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                hg = ((c.get(probe) or {}).get("httpGet")) or {}
                if hg.get("path") != path:
                    self.err(cw, "%s must GET %s" % (probe, path))
                if hg.get("port") not in ports and hg.get("port") not in [p.get("containerPort") for p in ports.values()]:
                    self.err(cw, "%s port %r is not a container port" % (probe, hg.get("port")))
            csc = c.get("securityContext") or {}
            if csc.get("allowPrivilegeEscalation") is not False:
                self.err(cw, "allowPrivilegeEscalation must be false")
            env = {}
            for src in c.get("envFrom") or []:
                ref = src.get("configMapRef") or src.get("secretRef")
                if src.get("configMapRef") and not self.get("ConfigMap", "daap-system", ref.get("name")):
                    self.err(cw, "envFrom ConfigMap %r is not defined here" % ref.get("name"))
                if src.get("configMapRef") and self.get("ConfigMap", "daap-system", ref.get("name")):
                    env.update(self.get("ConfigMap", "daap-system", ref["name"]).get("data") or {})
            secret_refs = []
            for e in c.get("env") or []:
                if not e.get("name"):
                    self.err(cw, "env entry without a name")
                    continue
                vf = e.get("valueFrom") or {}
                if "value" in e:
                    env[e["name"]] = e["value"]
                elif vf.get("secretKeyRef"):
                    ref = vf["secretKeyRef"]
                    secret_refs.append((ref.get("name"), ref.get("key")))
                    env[e["name"]] = "<secret %s/%s>" % (ref.get("name"), ref.get("key"))
                elif vf.get("configMapKeyRef"):
                    env[e["name"]] = "<configmap>"
                else:
                    self.err(cw, "env %s has neither value nor valueFrom" % e["name"])
            if not env.get("DAAP_STORE", "").startswith("<secret "):
                self.err(cw, "DAAP_STORE must come from a Secret (it holds the store password)")
            mounts = {}
            for m in c.get("volumeMounts") or []:
                if m.get("name") not in volumes:
                    self.err(cw, "volumeMount %r has no volume" % m.get("name"))
                mounts[m.get("mountPath")] = volumes.get(m.get("name")) or {}
            key_file = env.get("DAAP_SECRET_KEY_FILE")
            if not key_file:
                self.err(cw, "DAAP_SECRET_KEY_FILE is not set")
            else:
                vol = mounts.get(os.path.dirname(key_file)) or {}
                sec = vol.get("secret") or {}
                items = [i.get("path") for i in sec.get("items") or []]
                if not sec.get("secretName") or (items and os.path.basename(key_file) not in items):
                    self.err(cw, "DAAP_SECRET_KEY_FILE %s is not a file of a mounted Secret" % key_file)
                else:
                    secret_refs.append((sec["secretName"], os.path.basename(key_file)))
            tdir = env.get("DAAP_TEMPLATE_DIR")
            if tdir:
                cm = (mounts.get(tdir) or {}).get("configMap") or {}
                if not self.get("ConfigMap", "daap-system", cm.get("name")):
                    self.err(cw, "DAAP_TEMPLATE_DIR %s is not a mounted ConfigMap defined here" % tdir)
            listen = env.get("DAAP_LISTEN", "")
            if listen and listen.rsplit(":", 1)[-1] not in [str(p.get("containerPort")) for p in ports.values()]:
                self.err(cw, "DAAP_LISTEN %s does not match a containerPort" % listen)
            self.check_secret_refs(cw, secret_refs)
        for name, v in volumes.items():
            cm = v.get("configMap")
            if cm and not self.get("ConfigMap", "daap-system", cm.get("name")):
                self.err(w, "volume %s: ConfigMap %r is not defined here" % (name, cm.get("name")))

    def check_secret_refs(self, where, refs):
        """Every Secret the Deployment uses is described by secret.example.yaml."""
        examples = {}
        for s in self.secrets:
            if s.get("kind") != "Secret" or (s.get("metadata") or {}).get("namespace") != "daap-system":
                self.err("secret.example.yaml", "every object must be a Secret in daap-system")
                continue
            keys = set((s.get("data") or {}).keys()) | set((s.get("stringData") or {}).keys())
            examples[s["metadata"]["name"]] = keys
        for name, key in refs:
            if key not in examples.get(name, set()):
                self.err(where, "uses Secret %s key %s, which secret.example.yaml does not describe" % (name, key))

    def service(self):
        svc = self.get("Service", "daap-system", "daap-server")
        dep = self.get("Deployment", "daap-system", "daap-server")
        if not svc or not dep:
            return
        w = self.where(svc)
        labels = dep["spec"]["template"]["metadata"].get("labels") or {}
        sel = (svc.get("spec") or {}).get("selector") or {}
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            self.err(w, "selector %s does not select the daap-server pods" % sel)
        names = {p.get("name") for c in dep["spec"]["template"]["spec"].get("containers") or []
                 for p in c.get("ports") or []}
        for p in (svc.get("spec") or {}).get("ports") or []:
            if not isinstance(p.get("port"), int):
                self.err(w, "port must be an integer")
            tp = p.get("targetPort")
            if isinstance(tp, str) and tp not in names:
                self.err(w, "targetPort %r is not a named container port" % tp)

    def dockerfile(self):
        path = self.source / "deploy" / "Dockerfile"
        if not path.exists():
            return self.err("deploy/Dockerfile", "missing")
        text = path.read_text()
        froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
        if len(froms) < 2 or any(not f.startswith("debian:12-slim") for f in froms):
            self.err("Dockerfile", "want a multi-stage build on debian:12-slim, got %s" % froms)
        users = re.findall(r"^USER\s+(\S+)", text, re.M)
        if not users or users[-1].split(":")[0] in ("root", "0"):
            self.err("Dockerfile", "the runtime stage must switch to a non-root USER")
        if not re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M):
            self.err("Dockerfile", "HEALTHCHECK must probe /healthz")
        dep = self.get("Deployment", "daap-system", "daap-server")
        if dep:
            c = dep["spec"]["template"]["spec"]["containers"][0]
            uid = str(dep["spec"]["template"]["spec"].get("securityContext", {}).get("runAsUser"))
            if users and users[-1].split(":")[0] != uid:
                self.err("Dockerfile", "USER %s differs from the pod's runAsUser %s" % (users[-1], uid))
            exposed = re.findall(r"^EXPOSE\s+(\d+)", text, re.M)
            if [str(p["containerPort"]) for p in c.get("ports") or []] != exposed:
                self.err("Dockerfile", "EXPOSE %s differs from the containerPort" % exposed)

    def run(self):
        self.index = {}
        self.seen = set()
        for d in self.docs:
            md = d.get("metadata") or {}
            kind = d.get("kind")
            self.index[(kind, None if kind in CLUSTER_SCOPED else md.get("namespace"), md.get("name"))] = d
        for key in REQUIRED:
            if key not in self.index:
                self.err("kustomization", "missing %s %s/%s" % (key[0], key[1] or "-", key[2]))
        for d in self.docs + self.secrets:
            self.generic(d)
        self.rbac()
        self.configmaps()
        self.deployment()
        self.service()
        self.dockerfile()
        return self.errors


def load(path):
    with open(path) as f:
        return list(yaml.safe_load_all(f))


def cmd_check(rendered, secret_example, source):
    c = Checker(load(rendered), load(secret_example), source)
    errors = c.run()
    for e in errors:
        print("FAIL: " + e)
    if not errors:
        print("structural check: %d objects (+%d example Secrets) OK" % (len(c.docs), len(c.secrets)))
    return 1 if errors else 0


def cmd_split(rendered, out_dir):
    for i, d in enumerate(x for x in load(rendered) if x):
        md = d["metadata"]
        path = os.path.join(out_dir, "%02d-%s-%s.yaml" % (i, d["kind"].lower(), md["name"]))
        with open(path, "w") as f:
            yaml.safe_dump(d, f, sort_keys=False)
        print("\t".join([path, d["apiVersion"], d["kind"], md.get("namespace") or "-", md["name"]]))
    return 0


def cmd_selftest(rendered, secret_example, source):
    """The checker must catch typical mistakes (so the test can fail)."""
    docs, secrets = load(rendered), load(secret_example)

    def find(ds, kind, name):
        return next(d for d in ds if d and d["kind"] == kind and d["metadata"]["name"] == name)

    def container(ds):
        return find(ds, "Deployment", "daap-server")["spec"]["template"]["spec"]["containers"][0]

    mutations = {
        "wildcard verb": lambda ds: find(ds, "Role", "daap-server")["rules"][0]["verbs"].append("*"),
        "secrets list": lambda ds: find(ds, "Role", "daap-server")["rules"][1]["verbs"].append("list"),
        "binding to a missing role": lambda ds: find(ds, "RoleBinding", "daap-server")["roleRef"].update(name="daap"),
        "readiness on /healthz": lambda ds: container(ds)["readinessProbe"]["httpGet"].update(path="/healthz"),
        "probe on a missing port": lambda ds: container(ds)["livenessProbe"]["httpGet"].update(port="web"),
        "service selects nothing": lambda ds: find(ds, "Service", "daap-server")["spec"]["selector"].update(app="x"),
        "unknown option": lambda ds: find(ds, "ConfigMap", "daap-config")["data"].update(DAAP_LISTNE="x"),
        "duration with unit": lambda ds: find(ds, "ConfigMap", "daap-config")["data"].update(
            DAAP_PROVISIONING_DEADLINE_MS="15m"),
        "template drift": lambda ds: find(ds, "ConfigMap", "daap-templates")["data"].update(
            {"pooler.yaml": "kind: Pooler\n"}),
        "missing namespace": lambda ds: find(ds, "ServiceAccount", "daap-server")["metadata"].pop("namespace"),
        "store in plain env": lambda ds: container(ds)["env"].__setitem__(0, {"name": "DAAP_STORE", "value": "x"}),
        "bad name": lambda ds: find(ds, "Service", "daap-server")["metadata"].update(name="Daap_Server"),
    }
    baseline = Checker(copy.deepcopy(docs), copy.deepcopy(secrets), source).run()
    if baseline:
        print("selftest: the unmodified manifests already fail: %s" % baseline)
        return 1
    missed = []
    for name, mutate in mutations.items():
        ds = copy.deepcopy(docs)
        mutate(ds)
        if not Checker(ds, copy.deepcopy(secrets), source).run():
            missed.append(name)
    for name in missed:
        print("FAIL: selftest: the checker did not notice: %s" % name)
    if not missed:
        print("selftest: all %d injected mistakes caught" % len(mutations))
    return 1 if missed else 0


def cmd_mutants(rendered, out_dir):
    """Typos that only the API server (kubesim) can catch: check_deploy.sh applies each copy
    with --dry-run=server and expects kubectl to fail with the EXPECTED text."""
    docs = [d for d in load(rendered) if d]

    def find(ds, kind, name):
        return next(d for d in ds if d["kind"] == kind and d["metadata"]["name"] == name)

    def pod(ds):
        return find(ds, "Deployment", "daap-server")["spec"]["template"]["spec"]

    def rename(d, old, new):
        d[new] = d.pop(old)

    mutations = [
        ("unknown field in the container", 'unknown field "spec.template.spec.containers[0].imagePulPolicy"',
         lambda ds: rename(pod(ds)["containers"][0], "imagePullPolicy", "imagePulPolicy")),
        ("unknown field in the pod spec", 'unknown field "spec.template.spec.serviceAcountName"',
         lambda ds: rename(pod(ds), "serviceAccountName", "serviceAcountName")),
        ("unknown field in a Role rule", 'unknown field "rules[0].verb"',
         lambda ds: rename(find(ds, "Role", "daap-server")["rules"][0], "verbs", "verb")),
        ("unknown field in a ServiceAccount", 'unknown field "automountServiceAccountTokens"',
         lambda ds: find(ds, "ServiceAccount", "daap-server").update(automountServiceAccountTokens=False)),
        ("number in a ConfigMap", "cannot unmarshal number into Go struct field ConfigMap.data of type string",
         lambda ds: find(ds, "ConfigMap", "daap-config")["data"].update(DAAP_MAX_INSTANCES=9)),
        ("bad ConfigMap key", "data[bad key]: Invalid value",
         lambda ds: find(ds, "ConfigMap", "daap-config")["data"].update({"bad key": "x"})),
        ("roleRef apiGroup typo", "roleRef.apiGroup: Unsupported value",
         lambda ds: find(ds, "RoleBinding", "daap-server")["roleRef"].update(apiGroup="rbac.authorization.k8s.oi")),
        ("subject kind typo", "subjects[0].kind: Unsupported value",
         lambda ds: find(ds, "RoleBinding", "daap-server")["subjects"][0].update(kind="Serviceaccount")),
        ("mount of a missing volume", ".volumeMounts[2].name: Not found",
         lambda ds: pod(ds)["containers"][0]["volumeMounts"][2].update(name="tpm")),
        ("selector that does not match the pods", "`selector` does not match template `labels`",
         lambda ds: find(ds, "Deployment", "daap-server")["spec"]["selector"]["matchLabels"].update(
             {"app.kubernetes.io/name": "daap"})),
        ("replicas as a string", "spec.replicas",
         lambda ds: find(ds, "Deployment", "daap-server")["spec"].update(replicas="2")),
        ("Service port out of range", "spec.ports[0].port: Invalid value",
         lambda ds: find(ds, "Service", "daap-server")["spec"]["ports"][0].update(port=800000)),
        ("apiVersion the server does not serve", 'no matches for kind "Role" in version "rbac.authorization.k8s.io/v1beta1"',
         lambda ds: find(ds, "Role", "daap-server").update(apiVersion="rbac.authorization.k8s.io/v1beta1")),
        ("container port name too long", "ports[0].name: Invalid value",
         lambda ds: pod(ds)["containers"][0]["ports"][0].update(name="http-server-port")),
    ]
    stale = 0
    for i, (name, expected, mutate) in enumerate(mutations):
        ds = copy.deepcopy(docs)
        try:
            mutate(ds)
        except (KeyError, IndexError, StopIteration, TypeError, AttributeError) as e:
            print("FAIL: mutant %r no longer fits deploy/ (%s: %s): update cmd_mutants in %s"
                  % (name, type(e).__name__, e, os.path.basename(__file__)), file=sys.stderr)
            stale += 1
            continue
        path = os.path.join(out_dir, "mutant-%02d.yaml" % i)
        with open(path, "w") as f:
            yaml.safe_dump_all(ds, f, sort_keys=False)
        print("\t".join([path, expected, name]))
    return 1 if stale else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "check" and len(argv) == 5:
        return cmd_check(*argv[2:])
    if len(argv) >= 2 and argv[1] == "split" and len(argv) == 4:
        return cmd_split(*argv[2:])
    if len(argv) >= 2 and argv[1] == "selftest" and len(argv) == 5:
        return cmd_selftest(*argv[2:])
    if len(argv) >= 2 and argv[1] == "mutants" and len(argv) == 4:
        return cmd_mutants(*argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
