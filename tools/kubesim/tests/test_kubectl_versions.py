"""Every kubectl minor on the machine (kubectl.1.NN on PATH or beside the kubectl dispatcher) runs
the same script against one kubesim with real backing: create, apply (client- and server-side),
get in every output, patch (merge, json, strategic), wait, watch, delete, explain, events,
describe and auth can-i. A minor that is not installed is reported on a skip line."""
import base64
import json
import os
import shutil
import subprocess
import threading
import unittest

from ksim import Sim, new_dir

MINORS = range(27, 34)
CLUSTER = """apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: c1
  labels: {app.kubernetes.io/managed-by: daap}
spec:
  instances: 1
  storage: {size: 1Gi}
"""
POOLER = """apiVersion: postgresql.cnpg.io/v1
kind: Pooler
metadata:
  name: c1-pooler
spec:
  cluster: {name: c1}
  type: rw
  pgbouncer: {poolMode: transaction}
"""
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: cm1
data: {a: "1"}
"""


def find_kubectls():
    """{minor: path} of the kubectl.1.NN binaries on PATH and beside the resolved kubectl."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    k = shutil.which("kubectl")
    if k:
        dirs.append(os.path.dirname(os.path.realpath(k)))
    found = {}
    for m in MINORS:
        for d in dirs:
            p = os.path.join(d, "kubectl.1.%d" % m)
            if m not in found and os.access(p, os.X_OK):
                found[m] = p
    return found


KUBECTLS = find_kubectls()


class Kubectl:
    def __init__(self, path, kubeconfig, ns):
        self.base = [path, "--kubeconfig", kubeconfig, "--cache-dir", new_dir("kcache-"), "-n", ns]

    def run(self, *args, stdin=None, check=True, timeout=90):
        p = subprocess.run(self.base + list(args), input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("kubectl %s failed (%d): %s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def out(self, *args, **kw):
        return self.run(*args, **kw).stdout


class KubectlVersionTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for m in MINORS:
            if m not in KUBECTLS:
                print("skip: kubectl.1.%d is not installed (not on PATH, not beside kubectl)" % m, flush=True)
        cls.sim = Sim("--ready-delay", "1", "--pooler-delay", "0.5", backing=True).start() if KUBECTLS else None

    @classmethod
    def tearDownClass(cls):
        if cls.sim:
            cls.sim.stop()

    def script(self, minor):
        ns = "kc1-%d" % minor
        k = Kubectl(KUBECTLS[minor], self.sim.kubeconfig, ns)
        # create: the built-in kinds go as protobuf from kubectl 1.32 on
        self.assertIn("namespace/%s created" % ns, k.out("create", "namespace", ns))
        k.out("create", "secret", "generic", "s1", "--from-literal=a=b")
        self.assertEqual(base64.b64decode(k.out("get", "secret", "s1", "-o", "jsonpath={.data.a}")), b"b")
        self.assertEqual(k.out("auth", "can-i", "create", "secrets").strip(), "yes")
        # apply, client-side then server-side over it, and a server-side create
        self.assertIn("cluster.postgresql.cnpg.io/c1 created", k.out("apply", "-f", "-", stdin=CLUSTER))
        k.out("apply", "--server-side", "-f", "-", stdin=CLUSTER)
        k.out("apply", "--server-side", "-f", "-", stdin=POOLER)
        k.out("apply", "-f", "-", stdin=CONFIGMAP)
        k.out("wait", "--for=condition=Ready", "cluster/c1", "--timeout=60s")
        self.outputs(k, ns)
        self.patches(k)
        self.watch(k)
        self.explain_events_describe(k)
        k.out("delete", "pooler", "c1-pooler")
        k.out("delete", "cluster", "c1", "--wait=true", "--timeout=60s")
        p = k.run("get", "cluster", "c1", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("NotFound", p.stderr)
        k.out("delete", "namespace", ns, "--wait=false")

    def outputs(self, k, ns):
        obj = json.loads(k.out("get", "cluster", "c1", "-o", "json"))
        self.assertEqual((obj["metadata"]["namespace"], obj["status"]["phase"]), (ns, "Cluster in healthy state"))
        self.assertIn("kind: Cluster", k.out("get", "cluster", "c1", "-o", "yaml"))
        wide = k.out("get", "clusters", "-o", "wide").splitlines()
        self.assertEqual(wide[0].split(), ["NAME", "AGE", "INSTANCES", "READY", "STATUS", "PRIMARY"])
        self.assertIn("Cluster in healthy state", wide[1])
        self.assertEqual(k.out("get", "cluster", "c1", "-o", "name").strip(), "cluster.postgresql.cnpg.io/c1")
        self.assertEqual(k.out("get", "cluster", "c1", "-o", "jsonpath={.spec.instances}"), "1")
        cc = k.out("get", "clusters", "-o", "custom-columns=N:.metadata.name,I:.spec.instances").split()
        self.assertEqual(cc, ["N", "I", "c1", "1"])
        self.assertIn("c1-pooler", k.out("get", "poolers", "-A"))
        self.assertEqual(k.out("get", "secret", "c1-app", "-o", "jsonpath={.type}"), "kubernetes.io/basic-auth")

    def patches(self, k):
        k.out("patch", "cluster", "c1", "--type", "merge", "-p", '{"metadata":{"labels":{"merged":"yes"}}}')
        k.out("patch", "cluster", "c1", "--type", "json", "-p",
              '[{"op":"add","path":"/metadata/annotations","value":{"jsonpatched":"yes"}}]')
        k.out("patch", "configmap", "cm1", "-p", '{"data":{"b":"2"}}')     # strategic, the default
        md = json.loads(k.out("get", "cluster", "c1", "-o", "json"))["metadata"]
        self.assertEqual((md["labels"]["merged"], md["annotations"]["jsonpatched"]), ("yes", "yes"))
        self.assertEqual(json.loads(k.out("get", "configmap", "cm1", "-o", "json"))["data"], {"a": "1", "b": "2"})
        p = k.run("patch", "cluster", "c1", "-p", '{"metadata":{"labels":{"s":"1"}}}', check=False)
        self.assertNotEqual(p.returncode, 0, "strategic merge patch of a custom resource must be refused")

    def watch(self, k):
        proc = subprocess.Popen(k.base + ["get", "cluster", "c1", "-w", "--output-watch-events", "-o",
                                          "jsonpath={.type} {.object.metadata.labels.watched}{\"\\n\"}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        try:
            lines.append(proc.stdout.readline().strip())
            k.out("label", "cluster", "c1", "watched=yes")
            timer = threading.Timer(30, proc.kill)
            timer.start()
            lines.append(proc.stdout.readline().strip())
            timer.cancel()
        finally:
            proc.kill()
            proc.wait()
        self.assertEqual(lines, ["ADDED", "MODIFIED yes"])

    def explain_events_describe(self, k):
        ex = k.out("explain", "cluster.spec")
        self.assertIn("Specification of the desired behavior of the cluster", ex)
        self.assertIn("instances", k.out("explain", "cluster.spec", "--recursive"))
        ev = k.out("get", "events")
        self.assertIn("CreatingInstance", ev)
        self.assertIn("cluster/c1", ev)
        sel = k.out("get", "events", "--field-selector", "involvedObject.name=c1", "-o", "name").split()
        self.assertGreaterEqual(len(sel), 2)
        d = k.out("describe", "cluster", "c1")
        self.assertIn("Events:", d)
        self.assertIn("ClusterReady", d)
        self.assertIn("cloudnative-pg", d)


def _make(minor):
    def test(self):
        self.script(minor)
    return test


for _m in MINORS:
    if _m in KUBECTLS:
        setattr(KubectlVersionTests, "test_kubectl_1_%d" % _m, _make(_m))

if not KUBECTLS:
    class NoKubectl(unittest.TestCase):
        def test_kubectl_versions(self):
            self.skipTest("no kubectl.1.NN found")
