"""The official Python client (Debian's python3-kubernetes) against kubesim with real backing:
CoreV1 and CustomObjects CRUD, pagination, watches from a resourceVersion, 410 Gone, bookmarks.

Run it with the python3 that has the client (run.sh: PYTHON=/usr/bin/python3). Without the client
every test is skipped, and the runner counts skips as failures when CI=true."""
import time
import unittest

from ksim import Sim

try:
    import kubernetes
    from kubernetes import client as kc, config, watch
    from kubernetes.client.rest import ApiException
except ImportError:      # reported per test as a skip
    kubernetes = None

G, V = "postgresql.cnpg.io", "v1"
NS = "pyclient"


def cluster(name):
    return {"apiVersion": "%s/%s" % (G, V), "kind": "Cluster", "metadata": {"name": name},
            "spec": {"instances": 1, "storage": {"size": "1Gi"}}}


@unittest.skipIf(kubernetes is None, "python3-kubernetes is not installed for this python3")
class PythonClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--ready-delay", "1", "--bookmark-interval", "1", backing=True).start()
        cls.api = config.new_client_from_config(config_file=cls.sim.kubeconfig)
        cls.core = kc.CoreV1Api(cls.api)
        cls.custom = kc.CustomObjectsApi(cls.api)
        cls.core.create_namespace(kc.V1Namespace(metadata=kc.V1ObjectMeta(name=NS)))

    @classmethod
    def tearDownClass(cls):
        cls.api.close()
        cls.sim.stop()

    def test_core_v1_crud(self):
        body = kc.V1Secret(metadata=kc.V1ObjectMeta(name="s1", labels={"t": "crud"}), string_data={"k": "v"})
        created = self.core.create_namespaced_secret(NS, body)
        self.assertEqual(created.data, {"k": "dg=="})
        got = self.core.read_namespaced_secret("s1", NS)
        got.metadata.labels["t"] = "replaced"
        rep = self.core.replace_namespaced_secret("s1", NS, got)
        self.assertEqual(rep.metadata.labels["t"], "replaced")
        self.assertNotEqual(rep.metadata.resource_version, created.metadata.resource_version)
        pat = self.core.patch_namespaced_secret("s1", NS, {"metadata": {"annotations": {"a": "b"}}})
        self.assertEqual(pat.metadata.annotations, {"a": "b"})
        with self.assertRaises(ApiException) as cm:
            self.core.create_namespaced_secret(NS, body)
        self.assertEqual(cm.exception.status, 409)
        self.core.delete_namespaced_secret("s1", NS)
        with self.assertRaises(ApiException) as cm:
            self.core.read_namespaced_secret("s1", NS)
        self.assertEqual(cm.exception.status, 404)

    def test_custom_objects_crud(self):
        self.custom.create_namespaced_custom_object(G, V, NS, "clusters", cluster("pc1"))
        deadline = time.time() + 30
        while time.time() < deadline:
            obj = self.custom.get_namespaced_custom_object(G, V, NS, "clusters", "pc1")
            if (obj.get("status") or {}).get("phase") == "Cluster in healthy state":
                break
            time.sleep(0.2)
        self.assertEqual(obj["status"]["phase"], "Cluster in healthy state")
        obj = self.custom.patch_namespaced_custom_object(G, V, NS, "clusters", "pc1",
                                                         {"metadata": {"labels": {"p": "1"}}})
        self.assertEqual(obj["metadata"]["labels"], {"p": "1"})
        items = self.custom.list_namespaced_custom_object(G, V, NS, "clusters", label_selector="p=1")["items"]
        self.assertEqual([o["metadata"]["name"] for o in items], ["pc1"])
        secret = self.core.read_namespaced_secret("pc1-app", NS)
        self.assertEqual(sorted(secret.data)[:3], ["dbname", "fqdn-jdbc-uri", "fqdn-uri"])
        self.custom.delete_namespaced_custom_object(G, V, NS, "clusters", "pc1")
        with self.assertRaises(ApiException) as cm:
            self.custom.get_namespaced_custom_object(G, V, NS, "clusters", "pc1")
        self.assertEqual(cm.exception.status, 404)

    def test_pagination(self):
        for i in range(7):
            self.core.create_namespaced_config_map(NS, kc.V1ConfigMap(
                metadata=kc.V1ObjectMeta(name="page-%d" % i, labels={"t": "page"}), data={"i": str(i)}))
        names, cont, pages = [], None, 0
        while True:
            r = self.core.list_namespaced_config_map(NS, label_selector="t=page", limit=3, _continue=cont)
            names += [o.metadata.name for o in r.items]
            pages += 1
            cont = r.metadata._continue
            if not cont:
                break
        self.assertEqual(names, ["page-%d" % i for i in range(7)])
        self.assertEqual(pages, 3)

    def test_watch_from_resource_version(self):
        rv = self.core.list_namespaced_config_map(NS).metadata.resource_version
        self.core.create_namespaced_config_map(NS, kc.V1ConfigMap(metadata=kc.V1ObjectMeta(name="w1"),
                                                                  data={"a": "1"}))
        self.core.patch_namespaced_config_map("w1", NS, {"data": {"a": "2"}})
        self.core.delete_namespaced_config_map("w1", NS)
        seen = []
        w = watch.Watch()
        for ev in w.stream(self.core.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=5,
                           field_selector="metadata.name=w1"):
            seen.append((ev["type"], ev["object"].data.get("a") if ev["object"].data else None))
            if ev["type"] == "DELETED":
                w.stop()
        self.assertEqual(seen, [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")])

    def test_custom_objects_watch(self):
        rv = self.custom.list_namespaced_custom_object(G, V, NS, "clusters")["metadata"]["resourceVersion"]
        self.custom.create_namespaced_custom_object(G, V, NS, "clusters", cluster("pw1"))
        w = watch.Watch()
        types = []
        for ev in w.stream(self.custom.list_namespaced_custom_object, G, V, NS, "clusters", resource_version=rv,
                           timeout_seconds=10):
            if ev["object"]["metadata"]["name"] != "pw1":
                continue
            types.append(ev["type"])
            if (ev["object"].get("status") or {}).get("phase") == "Cluster in healthy state":
                w.stop()
        self.assertEqual(types[0], "ADDED")
        self.assertIn("MODIFIED", types)
        self.custom.delete_namespaced_custom_object(G, V, NS, "clusters", "pw1")

    def test_gone_is_an_api_exception(self):
        w = watch.Watch()
        with self.assertRaises(ApiException) as cm:
            for _ in w.stream(self.core.list_namespaced_config_map, NS, resource_version="1", timeout_seconds=5):
                pass
        self.assertEqual(cm.exception.status, 410)

    def test_bookmarks(self):
        rv = self.core.list_namespaced_config_map(NS).metadata.resource_version
        w = watch.Watch()
        got = None
        for ev in w.stream(self.core.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=5,
                           allow_watch_bookmarks=True):
            if ev["type"] == "BOOKMARK":
                got = ev
                w.stop()
        self.assertIsNotNone(got, "no BOOKMARK within the watch")
        self.assertGreaterEqual(int(got["raw_object"]["metadata"]["resourceVersion"]), int(rv))
