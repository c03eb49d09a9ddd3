"""Wire-level fidelity: protobuf bodies and answers, ParseBool query booleans, the events.k8s.io
view, SelfSubjectAccessReview, the CNPG schemas in /openapi/v3."""
import json
import unittest

from ksim import CNPG, Sim, cluster, cluster_ready, wait_for
from kubesimlib import protobuf as P
from kubesimlib import util

PB = "application/vnd.kubernetes.protobuf"


class TimestampTests(unittest.TestCase):
    """Table Age cells: the fast parse of kubesim's own timestamp form agrees with strptime."""

    def test_parse_rfc3339_forms(self):
        self.assertEqual(util.parse_rfc3339("2026-12-03T13:39:13Z").isoformat(), "2026-12-03T13:39:13+00:00")
        self.assertEqual(util.parse_rfc3339("2026-1-3T13:39:13Z").isoformat(), "2026-01-03T13:39:13+00:00")
        for bad in ("2026-12-03T25:39:13Z", "2026-12-03 13:39:13Z", "2026-12-03T13:39:13", "", None, 5):
            self.assertIsNone(util.parse_rfc3339(bad), bad)

    def test_human_age(self):
        self.assertEqual(util.human_age(util.now_rfc3339()), "0s")
        self.assertRegex(util.human_age("2020-01-01T00:00:00Z"), r"^\d+y$")
        for bad in (None, "junk", 5):
            self.assertEqual(util.human_age(bad), "<unknown>")


class ProtocolTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--ready-delay", "0.4").start()
        cls.c = cls.sim.client()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.sim.stop()

    def test_protobuf_create_of_builtin_kinds(self):
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pb-ns", "labels": {"a": "b"}}}
        r = self.c.post("/api/v1/namespaces", P.encode_body(ns), ctype=PB,
                        headers={"Accept": PB + ", application/json"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.headers.getheader("Content-Type"), "application/json")
        self.assertEqual(r.json["metadata"]["labels"]["a"], "b")
        sec = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pb-s"}, "data": {"k": "AAEC/w=="},
               "stringData": {"s": "text"}, "type": "Opaque"}
        r = self.c.post("/api/v1/namespaces/pb-ns/secrets", P.encode_body(sec), ctype=PB)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["data"], {"k": "AAEC/w==", "s": "dGV4dA=="})
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pb-d"},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "x"}},
                        "template": {"metadata": {"labels": {"app": "x"}},
                                     "spec": {"containers": [{"name": "c", "image": "nginx:1",
                                                              "ports": [{"containerPort": 80}]}]}},
                        "strategy": {"rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 1}}}}
        r = self.c.post("/apis/apps/v1/namespaces/pb-ns/deployments", P.encode_body(dep), ctype=PB)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["spec"]["strategy"]["rollingUpdate"], {"maxSurge": "50%", "maxUnavailable": 1})
        self.assertEqual(r.json["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80)

    def test_protobuf_answer_when_only_protobuf_is_accepted(self):
        r = self.c.get("/api/v1/namespaces/default", headers={"Accept": PB})
        self.assertEqual((r.status, r.headers.getheader("Content-Type")), (200, PB))
        obj = P.decode_body(r.raw)
        self.assertEqual((obj["kind"], obj["metadata"]["name"]), ("Namespace", "default"))
        r = self.c.get("/api/v1/namespaces/nope", headers={"Accept": PB})
        self.assertEqual(r.status, 404)
        self.assertEqual(P.decode_body(r.raw)["reason"], "NotFound")
        r = self.c.get(CNPG + "/namespaces/daap/clusters", headers={"Accept": PB})
        self.assertEqual(r.status, 406, "custom resources have no protobuf form")

    def test_protobuf_body_on_a_custom_resource_is_415(self):
        body = P.MAGIC + b"\x0a\x00"
        r = self.c.post(CNPG + "/namespaces/daap/clusters", body, ctype=PB)
        self.assertEqual((r.status, r.json["reason"]), (415, "UnsupportedMediaType"))
        self.assertEqual(r.headers.getheader("Content-Type"), "application/json")

    def test_bad_protobuf_is_400(self):
        r = self.c.post("/api/v1/namespaces", b"not protobuf", ctype=PB)
        self.assertEqual((r.status, r.json["reason"]), (400, "BadRequest"))

    def test_self_subject_access_review_json_and_protobuf(self):
        ssar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"namespace": "daap", "verb": "create", "resource": "secrets"}}}
        path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
        for body, ctype in ((ssar, "application/json"), (P.encode_body(ssar), PB)):
            r = self.c.post(path, body, ctype=ctype)
            self.assertEqual(r.status, 201, r)
            self.assertTrue(r.json["status"]["allowed"])
            self.assertEqual(r.json["spec"]["resourceAttributes"]["resource"], "secrets")
        self.assertEqual(self.c.get(path).status, 405)

    def test_query_booleans_parse_like_strconv_parsebool(self):
        base = "/api/v1/namespaces/daap/configmaps?timeoutSeconds=0.2&watch="
        for v in ("1", "t", "T", "TRUE", "true", "True"):
            w = self.c.watch(base + v)
            self.assertEqual(w.status, 200)
            self.assertEqual(w.resp.getheader("Transfer-Encoding"), "chunked", v)
            w.close()
        for v in ("0", "f", "F", "FALSE", "false", "False"):
            r = self.c.get(base + v)
            self.assertEqual((r.status, r.json["kind"]), (200, "ConfigMapList"), v)
        for v in ("yes", "tRUE", "2", ""):
            r = self.c.get(base + v)
            self.assertEqual((r.status, r.json["reason"]), (400, "BadRequest"), v)
        r = self.c.get("/api/v1/namespaces/daap/configmaps?watch=1&allowWatchBookmarks=maybe")
        self.assertEqual(r.status, 400)

    def test_events_in_both_groups(self):
        self.assertEqual(self.c.post(CNPG + "/namespaces/daap/clusters", cluster("ev-a")).status, 201)
        wait_for(lambda: cluster_ready(self.c, "daap", "ev-a"), msg="ev-a ready")
        core = self.c.get("/api/v1/namespaces/daap/events?fieldSelector=involvedObject.name%3Dev-a").json["items"]
        self.assertEqual(sorted(e["reason"] for e in core), ["ClusterReady", "CreatingInstance"])
        self.assertEqual(core[0]["involvedObject"]["kind"], "Cluster")
        self.assertEqual(core[0]["source"], {"component": "cloudnative-pg"})
        v1 = self.c.get("/apis/events.k8s.io/v1/namespaces/daap/events?fieldSelector=regarding.name%3Dev-a").json
        self.assertEqual(v1["kind"], "EventList")
        self.assertEqual(sorted(e["metadata"]["name"] for e in v1["items"]),
                         sorted(e["metadata"]["name"] for e in core))
        e = v1["items"][0]
        self.assertEqual((e["apiVersion"], e["regarding"]["name"], e["reportingController"]),
                         ("events.k8s.io/v1", "ev-a", "cloudnative-pg"))
        self.assertIn("note", e)
        self.assertNotIn("involvedObject", e)
        none = self.c.get("/apis/events.k8s.io/v1/namespaces/daap/events?fieldSelector=regarding.name%3Dnone")
        self.assertEqual(none.json["items"], [])
        w = self.c.watch("/apis/events.k8s.io/v1/namespaces/daap/events?watch=true&resourceVersion=0")
        ev, _ = w.until(lambda ev: ev["object"].get("regarding", {}).get("name") == "ev-a")
        w.close()
        self.assertIsNotNone(ev)
        self.assertEqual(self.c.put("/apis/events.k8s.io/v1/namespaces/daap/events/" + e["metadata"]["name"],
                                    e).status, 405)

    def test_pooler_events(self):
        pl = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Pooler", "metadata": {"name": "ev-p"},
              "spec": {"cluster": {"name": "ev-c"}, "pgbouncer": {"poolMode": "transaction"}}}
        self.assertEqual(self.c.post(CNPG + "/namespaces/daap/poolers", pl).status, 201)
        path = "/api/v1/namespaces/daap/events?fieldSelector=involvedObject.name%3Dev-p,involvedObject.kind%3DPooler"
        wait_for(lambda: [e for e in self.c.get(path).json["items"] if e["reason"] == "ClusterNotFound"],
                 msg="ClusterNotFound")
        self.assertEqual(self.c.post(CNPG + "/namespaces/daap/clusters", cluster("ev-c")).status, 201)
        wait_for(lambda: {"PgBouncerReady", "PoolerActive"} <= {e["reason"] for e in self.c.get(path).json["items"]},
                 msg="PgBouncerReady and PoolerActive")
        events = self.c.get(path).json["items"]
        self.assertEqual({e["source"]["component"] for e in events}, {"cloudnative-pg-pooler"})
        self.assertEqual(next(e for e in events if e["reason"] == "ClusterNotFound")["type"], "Warning")

    def test_openapi_v3_has_the_cnpg_schemas(self):
        root = self.c.get("/openapi/v3").json
        url = root["paths"]["apis/postgresql.cnpg.io/v1"]["serverRelativeURL"]
        doc = self.c.get(url).json
        schemas = doc["components"]["schemas"]
        cl = schemas["io.cnpg.postgresql.v1.Cluster"]
        self.assertEqual(cl["x-kubernetes-group-version-kind"],
                         [{"group": "postgresql.cnpg.io", "kind": "Cluster", "version": "v1"}])
        self.assertIn("instances", cl["properties"]["spec"]["properties"])
        self.assertIn("pgbouncer", schemas["io.cnpg.postgresql.v1.Pooler"]["properties"]["spec"]["properties"])
        ref = cl["properties"]["metadata"]["allOf"][0]["$ref"].split("/")[-1]
        self.assertIn(ref, schemas)
