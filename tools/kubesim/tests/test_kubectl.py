"""The real kubectl (on PATH) against kubesim over https with the token, as issue 3's "Done when" asks."""
import json
import os
import re
import shutil
import subprocess
import time
import unittest

from ksim import Sim, new_dir, wait_for

KUBECTL = shutil.which("kubectl")

CLUSTER = """apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: {name}
  labels:
    app.kubernetes.io/managed-by: daap
    daap.dev/database-id: "{id}"
spec:
  instances: {instances}
  storage:
    size: 1Gi
"""
POOLER = """apiVersion: postgresql.cnpg.io/v1
kind: Pooler
metadata:
  name: {name}-pooler
  labels:
    app.kubernetes.io/managed-by: daap
spec:
  cluster:
    name: {name}
  type: rw
  pgbouncer:
    poolMode: transaction
"""

# The kinds deploy/ uses besides Namespaces, Secrets and Services.
DEPLOY_KINDS = """apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  labels:
    app: {name}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
data:
  DAAP_LOG_LEVEL: "info"
  DAAP_MAX_INSTANCES: "9"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {name}
rules:
- apiGroups: ["postgresql.cnpg.io"]
  resources: ["clusters", "poolers"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {name}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {name}
subjects:
- kind: ServiceAccount
  name: {name}
  namespace: daap
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      serviceAccountName: {name}
      containers:
      - name: server
        image: example.com/server:1.0
        ports:
        - name: http
          containerPort: 8080
        envFrom:
        - configMapRef:
            name: {name}-config
        volumeMounts:
        - name: tmp
          mountPath: /tmp
      volumes:
      - name: tmp
        emptyDir: {{}}
"""
SERVICE_AND_SECRET = """apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
  - name: http
    port: 80
---
apiVersion: v1
kind: Secret
metadata:
  name: {name}-store
type: Opaque
stringData:
  uri: "postgresql://u:p@db:5432/daap"
"""


@unittest.skipIf(KUBECTL is None, "kubectl not found on PATH")
class KubectlTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--ready-delay", "1.0", "--pooler-delay", "0.3").start()
        cls.dir = new_dir("kubectl-")
        cls.cache = os.path.join(cls.dir, "cache")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def kubectl(self, *args, kubeconfig=None, stdin=None, check=True, timeout=60):
        cmd = [KUBECTL, "--kubeconfig", kubeconfig or self.sim.kubeconfig, "--cache-dir", self.cache] + list(args)
        r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            self.fail("%s failed (%d):\n%s\n%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def write(self, name, text):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_1_apply_get_wait_secret(self):
        f = self.write("c1.yaml", CLUSTER.format(name="kc-one", id="1", instances=1) + "---\n" + POOLER.format(name="kc-one"))
        r = self.kubectl("apply", "-f", f)
        self.assertIn("cluster.postgresql.cnpg.io/kc-one created", r.stdout)
        self.assertIn("pooler.postgresql.cnpg.io/kc-one-pooler created", r.stdout)
        out = json.loads(self.kubectl("get", "clusters.postgresql.cnpg.io", "kc-one", "-o", "json").stdout)
        self.assertEqual((out["kind"], out["metadata"]["name"], out["metadata"]["namespace"]), ("Cluster", "kc-one", "daap"))
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration", out["metadata"]["annotations"])
        y = self.kubectl("get", "pooler", "kc-one-pooler", "-o", "yaml").stdout
        self.assertIn("kind: Pooler", y)
        self.assertIn("poolMode: transaction", y)
        lst = json.loads(self.kubectl("get", "clusters", "-l", "app.kubernetes.io/managed-by=daap", "-o", "json").stdout)
        self.assertIn("kc-one", [i["metadata"]["name"] for i in lst["items"]])
        r = self.kubectl("get", "clusters", "-l", "daap.dev/database-id in (1,2)", "-o", "name")
        self.assertIn("cluster.postgresql.cnpg.io/kc-one", r.stdout)
        r = self.kubectl("get", "clusters", "-l", "daap.dev/database-id=999")
        self.assertIn("No resources found", r.stderr)
        r = self.kubectl("wait", "--for=condition=Ready", "cluster/kc-one", "--timeout=20s")
        self.assertIn("cluster.postgresql.cnpg.io/kc-one condition met", r.stdout)
        pw = self.kubectl("get", "secret", "kc-one-app", "-o", "jsonpath={.data.password}").stdout
        import base64
        self.assertRegex(base64.b64decode(pw).decode(), r"^[A-Za-z0-9]{64}$")
        uri = base64.b64decode(self.kubectl("get", "secret", "kc-one-app", "-o", "jsonpath={.data.uri}").stdout).decode()
        self.assertTrue(uri.startswith("postgresql://app:") and uri.endswith("@kc-one-rw.daap:5432/app"), uri)
        table = self.kubectl("get", "clusters", "kc-one").stdout
        self.assertRegex(table.splitlines()[0], r"NAME\s+AGE\s+INSTANCES\s+READY\s+STATUS\s+PRIMARY")
        self.assertIn("Cluster in healthy state", table)
        r = self.kubectl("wait", "--for=jsonpath={.status.readyReplicas}=1", "deployment/kc-one-pooler", "--timeout=20s")
        self.assertIn("condition met", r.stdout)
        self.assertIn("kc-one-pooler", self.kubectl("get", "svc").stdout)
        # -A uses the all-namespaces list
        self.assertRegex(self.kubectl("get", "clusters", "-A").stdout, r"daap\s+kc-one")

    def test_2_server_side_apply(self):
        f = self.write("ssa.yaml", CLUSTER.format(name="kc-ssa", id="2", instances=1))
        r = self.kubectl("apply", "--server-side", "-f", f)
        self.assertIn("cluster.postgresql.cnpg.io/kc-ssa serverside-applied", r.stdout)
        f2 = self.write("ssa2.yaml", CLUSTER.format(name="kc-ssa", id="2", instances=3))
        self.kubectl("apply", "--server-side", "-f", f2)
        out = json.loads(self.kubectl("get", "cluster", "kc-ssa", "-o", "json", "--show-managed-fields").stdout)
        self.assertEqual((out["spec"]["instances"], out["metadata"]["generation"]), (3, 2))
        self.assertEqual([m["manager"] for m in out["metadata"]["managedFields"] if m["operation"] == "Apply"],
                         ["kubectl"])
        # a Pooler, server-side
        p = self.write("ssa-pooler.yaml", POOLER.format(name="kc-ssa"))
        r = self.kubectl("apply", "--server-side", "-f", p)
        self.assertIn("pooler.postgresql.cnpg.io/kc-ssa-pooler serverside-applied", r.stdout)
        out = json.loads(self.kubectl("get", "pooler", "kc-ssa-pooler", "-o", "json", "--show-managed-fields").stdout)
        self.assertEqual((out["kind"], out["spec"]["cluster"]["name"], out["spec"]["type"],
                          out["spec"]["pgbouncer"]["poolMode"], out["metadata"]["generation"]),
                         ("Pooler", "kc-ssa", "rw", "transaction", 1))
        self.assertEqual(out["metadata"]["labels"], {"app.kubernetes.io/managed-by": "daap"})
        self.assertEqual([(m["manager"], m["operation"]) for m in out["metadata"]["managedFields"]], [("kubectl", "Apply")])
        self.assertNotIn("kubectl.kubernetes.io/last-applied-configuration", out["metadata"].get("annotations") or {})
        table = self.kubectl("get", "poolers.postgresql.cnpg.io", "kc-ssa-pooler").stdout.splitlines()
        self.assertRegex(table[0], r"NAME\s+AGE\s+CLUSTER\s+TYPE")
        self.assertRegex(table[1], r"^kc-ssa-pooler\s+\S+\s+kc-ssa\s+rw$")
        self.kubectl("apply", "--server-side", "-f",
                     self.write("ssa-pooler2.yaml", POOLER.format(name="kc-ssa").replace("transaction", "session")))
        self.assertEqual(self.kubectl("get", "pooler", "kc-ssa-pooler", "-o",
                                      "jsonpath={.spec.pgbouncer.poolMode} {.metadata.generation}").stdout, "session 2")
        # client-side first, then server-side with a changed field: the field belongs to
        # kubectl-client-side-apply, so (as with a real server) it conflicts unless forced
        f3 = self.write("csa.yaml", CLUSTER.format(name="kc-csa", id="3", instances=1))
        self.kubectl("apply", "-f", f3)
        f4 = self.write("csa2.yaml", CLUSTER.format(name="kc-csa", id="3", instances=2))
        r = self.kubectl("apply", "--server-side", "-f", f4, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('conflict with "kubectl-client-side-apply"', r.stderr)
        self.assertIn(".spec.instances", r.stderr)
        self.assertIn("--force-conflicts", r.stderr)
        r = self.kubectl("apply", "--server-side", "--force-conflicts", "-f", f4)
        self.assertIn("serverside-applied", r.stdout)
        self.assertEqual(self.kubectl("get", "cluster", "kc-csa", "-o", "jsonpath={.spec.instances}").stdout, "2")
        # client-side apply of a change
        f5 = self.write("csa3.yaml", CLUSTER.format(name="kc-csa2", id="4", instances=1))
        self.kubectl("apply", "-f", f5)
        self.assertIn("unchanged", self.kubectl("apply", "-f", f5).stdout)
        f6 = self.write("csa4.yaml", CLUSTER.format(name="kc-csa2", id="4", instances=2))
        self.assertIn("configured", self.kubectl("apply", "-f", f6).stdout)
        self.assertEqual(self.kubectl("get", "cluster", "kc-csa2", "-o", "jsonpath={.spec.instances}").stdout, "2")

    def test_2b_client_side_then_server_side_apply_same_values(self):
        """kubectl's client-side -> server-side apply migration: with the values unchanged, a real server
        accepts it without --force-conflicts (kubectl hands the fields of kubectl-client-side-apply over
        to its own manager). Every kind, including the ones where the server adds defaults (Service,
        Deployment) or converts the body (a Secret's stringData)."""
        text = "---\n".join([CLUSTER.format(name="kc-mig", id="12", instances=1), POOLER.format(name="kc-mig"),
                             SERVICE_AND_SECRET.format(name="kc-mig"), DEPLOY_KINDS.format(name="kc-mig", replicas=2)])
        f = self.write("mig.yaml", text)
        r = self.kubectl("apply", "-f", f)
        self.assertEqual(r.stdout.count(" created\n"), 9, r.stdout)
        self.assertEqual(r.stdout.count(" unchanged\n"), 0)
        # a re-apply changes nothing; only the Secret is "configured", as with a real server: its
        # stringData is never stored, so kubectl's three-way diff always sends it again
        r = self.kubectl("apply", "-f", f)
        self.assertEqual(r.stdout.count(" unchanged\n"), 8, r.stdout)
        self.assertIn("secret/kc-mig-store configured", r.stdout)
        r = self.kubectl("apply", "--server-side", "-f", f)        # no --force-conflicts
        self.assertEqual(r.stdout.count(" serverside-applied\n"), 9, r.stdout + r.stderr)
        self.assertNotIn("conflict", r.stderr)
        kinds = ["cluster/kc-mig", "pooler/kc-mig-pooler", "service/kc-mig", "secret/kc-mig-store", "serviceaccount/kc-mig",
                 "configmap/kc-mig-config", "role/kc-mig", "rolebinding/kc-mig", "deployment/kc-mig"]
        for k in kinds:
            out = json.loads(self.kubectl("get", k, "-o", "json", "--show-managed-fields").stdout)
            managers = sorted((m["manager"], m["operation"]) for m in out["metadata"]["managedFields"])
            self.assertIn(("kubectl", "Apply"), managers, k)
            self.assertIn(("kubectl-last-applied", "Apply"), managers, k)
            self.assertNotIn(("kubectl-client-side-apply", "Update"), managers, k)
            self.assertIn("kubectl.kubernetes.io/last-applied-configuration", out["metadata"]["annotations"], k)
            if "generation" in out["metadata"]:
                self.assertEqual(out["metadata"]["generation"], 1, k)
        # the values are still the manifest's (and the server's defaults)
        self.assertEqual(self.kubectl("get", "svc", "kc-mig", "-o", "jsonpath={.spec.ports[0].port}/"
                                      "{.spec.ports[0].protocol}").stdout, "80/TCP")
        self.assertEqual(self.kubectl("get", "secret", "kc-mig-store", "-o", "jsonpath={.data.uri}").stdout,
                         "cG9zdGdyZXNxbDovL3U6cEBkYjo1NDMyL2RhYXA=")
        self.assertEqual(self.kubectl("get", "deploy", "kc-mig", "-o", "jsonpath={.spec.replicas}").stdout, "2")
        # kubectl now owns the fields: a changed value applies without --force-conflicts
        f2 = self.write("mig2.yaml", "---\n".join([CLUSTER.format(name="kc-mig", id="12", instances=2),
                                                   DEPLOY_KINDS.format(name="kc-mig", replicas=3)]))
        r = self.kubectl("apply", "--server-side", "-f", f2)
        self.assertEqual(r.stdout.count(" serverside-applied\n"), 6, r.stdout + r.stderr)
        self.assertEqual(self.kubectl("get", "cluster", "kc-mig", "-o", "jsonpath={.spec.instances}").stdout, "2")
        self.assertEqual(self.kubectl("get", "deploy", "kc-mig", "-o", "jsonpath={.spec.replicas}").stdout, "3")

    def test_3_watch_sees_status_change(self):
        cmd = [KUBECTL, "--kubeconfig", self.sim.kubeconfig, "--cache-dir", self.cache, "get",
               "clusters.postgresql.cnpg.io", "-w", "--output-watch-events",
               "-o", "jsonpath={.type} {.object.metadata.name} {.object.status.phase}{\"\\n\"}"]
        out_path = os.path.join(self.dir, "watch.out")
        with open(out_path, "w") as out:
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            time.sleep(1.0)
            self.kubectl("apply", "-f", self.write("w.yaml", CLUSTER.format(name="kc-watch", id="5", instances=1)))

            def seen():
                with open(out_path) as f:
                    return f.read()
            text = wait_for(lambda: "MODIFIED kc-watch Cluster in healthy state" in seen() and seen(), timeout=20,
                            msg="kubectl get -w output")
            lines = [l for l in text.splitlines() if "kc-watch" in l]
            self.assertTrue(lines[0].startswith("ADDED kc-watch"), lines)
            self.assertIn("MODIFIED kc-watch Setting up primary", text)
            self.assertIsNone(p.poll(), "kubectl get -w must still be running")
        finally:
            p.terminate()
            p.wait(10)

    def test_4_delete_collects_owned_objects(self):
        self.kubectl("apply", "-f", self.write("d.yaml", CLUSTER.format(name="kc-del", id="6", instances=1)))
        self.kubectl("wait", "--for=condition=Ready", "cluster/kc-del", "--timeout=20s")
        self.assertIn("kc-del-app", self.kubectl("get", "secrets").stdout)
        r = self.kubectl("delete", "cluster", "kc-del")
        self.assertIn('cluster.postgresql.cnpg.io "kc-del" deleted', r.stdout)

        def gone():
            s = self.kubectl("get", "secrets,services", "-o", "name").stdout
            return "kc-del" not in s
        wait_for(gone, timeout=10, msg="owned Secret and Services collected")
        r = self.kubectl("get", "secret", "kc-del-app", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('secrets "kc-del-app" not found', r.stderr)
        r = self.kubectl("delete", "cluster", "kc-del", check=False)
        self.assertIn("NotFound", r.stderr)

    def test_5_error_answers(self):
        f = self.write("e.yaml", CLUSTER.format(name="kc-err", id="7", instances=1))
        self.kubectl("create", "-f", f)
        r = self.kubectl("create", "-f", f, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AlreadyExists", r.stderr)
        self.assertIn('"kc-err" already exists', r.stderr)
        stale = json.loads(self.kubectl("get", "cluster", "kc-err", "-o", "json").stdout)
        self.kubectl("label", "cluster", "kc-err", "touched=yes")
        stale["spec"]["instances"] = 2
        r = self.kubectl("replace", "-f", "-", stdin=json.dumps(stale), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Conflict", r.stderr)
        self.assertIn("the object has been modified", r.stderr)
        bad = self.write("bad.yaml", CLUSTER.format(name="Daap_Foo", id="8", instances=1))
        r = self.kubectl("apply", "-f", bad, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('is invalid', r.stderr)
        self.assertIn("metadata.name", r.stderr)
        long_name = self.write("long.yaml", CLUSTER.format(name="x" * 51, id="9", instances=1))
        r = self.kubectl("apply", "-f", long_name, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("50 characters", r.stderr)
        unknown = self.write("unknown.yaml", CLUSTER.format(name="kc-unk", id="10", instances=1) + "  bogusField: 1\n")
        r = self.kubectl("apply", "-f", unknown, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('unknown field "spec.bogusField"', r.stderr)

    def test_6_unauthorized(self):
        with open(self.sim.kubeconfig) as f:
            text = f.read()
        bad = self.write("bad-kubeconfig", re.sub(r"token: \S+", "token: not-the-token", text))
        r = self.kubectl("get", "clusters", kubeconfig=bad, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Unauthorized", r.stderr)
        # (No credentials at all: kubectl would prompt for a username; test_api covers that 401.)

    def test_7_client_certificate_kubeconfig(self):
        with open(self.sim.kubeconfig_cert) as f:
            text = f.read()
        self.assertIn("client-certificate-data", text)
        self.assertNotIn("token:", text)
        r = self.kubectl("get", "namespaces", kubeconfig=self.sim.kubeconfig_cert)
        self.assertIn("daap", r.stdout)
        f = self.write("cc.yaml", CLUSTER.format(name="kc-cert", id="11", instances=1))
        self.assertIn("created", self.kubectl("apply", "-f", f, kubeconfig=self.sim.kubeconfig_cert).stdout)

    def test_8_deploy_kinds(self):
        """ServiceAccount, ConfigMap, Role, RoleBinding and Deployment: apply, get, delete with kubectl."""
        r = self.kubectl("api-resources", "--no-headers")
        for row in (r"^serviceaccounts\s+sa\s+v1\s+true\s+ServiceAccount$", r"^configmaps\s+cm\s+v1\s+true\s+ConfigMap$",
                    r"^deployments\s+deploy\s+apps/v1\s+true\s+Deployment$",
                    r"^roles\s+rbac.authorization.k8s.io/v1\s+true\s+Role$",
                    r"^rolebindings\s+rbac.authorization.k8s.io/v1\s+true\s+RoleBinding$",
                    r"^clusterroles\s+rbac.authorization.k8s.io/v1\s+false\s+ClusterRole$"):
            self.assertRegex(r.stdout, re.compile(row, re.M))
        f = self.write("kinds.yaml", DEPLOY_KINDS.format(name="kc-kinds", replicas=1))
        r = self.kubectl("apply", "--dry-run=server", "-f", f)
        self.assertEqual(r.stdout.count("created (server dry run)"), 5, r.stdout)
        self.assertEqual(self.kubectl("get", "sa", "kc-kinds", check=False).returncode, 1)
        r = self.kubectl("apply", "-f", f)
        for what in ("serviceaccount/kc-kinds created", "configmap/kc-kinds-config created",
                     "role.rbac.authorization.k8s.io/kc-kinds created", "rolebinding.rbac.authorization.k8s.io/kc-kinds created",
                     "deployment.apps/kc-kinds created"):
            self.assertIn(what, r.stdout)
        self.assertRegex(self.kubectl("get", "sa", "kc-kinds").stdout, r"NAME\s+SECRETS\s+AGE\nkc-kinds\s+0\s+")
        self.assertRegex(self.kubectl("get", "cm", "kc-kinds-config").stdout, r"NAME\s+DATA\s+AGE\nkc-kinds-config\s+2\s+")
        self.assertRegex(self.kubectl("get", "role", "kc-kinds").stdout, r"NAME\s+CREATED AT\nkc-kinds\s+\d{4}-")
        self.assertRegex(self.kubectl("get", "rolebinding", "kc-kinds", "-o", "wide").stdout,
                         r"kc-kinds\s+Role/kc-kinds\s+\S+\s+daap/kc-kinds")
        self.assertRegex(self.kubectl("get", "deploy", "kc-kinds").stdout, r"kc-kinds\s+0/1\s+0\s+0\s+")
        self.assertEqual(self.kubectl("get", "cm", "kc-kinds-config", "-o", "jsonpath={.data.DAAP_MAX_INSTANCES}").stdout, "9")
        self.assertEqual(self.kubectl("get", "-f", f, "-o", "name").stdout.count("\n"), 5)
        # a mistake only the server sees
        bad = self.write("kinds-bad.yaml", DEPLOY_KINDS.format(name="kc-kinds", replicas=1).replace(
            "serviceAccountName:", "serviceAcountName:"))
        r = self.kubectl("apply", "-f", bad, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('unknown field "spec.template.spec.serviceAcountName"', r.stderr)
        r = self.kubectl("delete", "-f", f)
        self.assertEqual(r.stdout.count(" deleted"), 5, r.stdout)
        self.assertIn("No resources found", self.kubectl("get", "sa,cm,roles,rolebindings,deploy", "-l", "x=y").stderr)
        r = self.kubectl("get", "configmap", "kc-kinds-config", check=False)
        self.assertIn('configmaps "kc-kinds-config" not found', r.stderr)


if __name__ == "__main__":
    unittest.main()
