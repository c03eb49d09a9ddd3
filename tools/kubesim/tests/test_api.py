"""Kubernetes REST semantics of kubesim, driven over HTTPS with a plain HTTP client (no backing)."""
import base64
import time
import unittest
import uuid

from ksim import CNPG, Sim, cluster, cluster_ready, phase, pooler, wait_for

NS = "daap"
CL = CNPG + "/namespaces/daap/clusters"
PL = CNPG + "/namespaces/daap/poolers"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
SA = "/api/v1/namespaces/daap/serviceaccounts"
CM = "/api/v1/namespaces/daap/configmaps"
ROLES = RBAC + "/namespaces/daap/roles"
RB = RBAC + "/namespaces/daap/rolebindings"
DEP = "/apis/apps/v1/namespaces/daap/deployments"
STD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def deployment(name, labels=None, **spec):
    """A valid apps/v1 Deployment (one container, one mounted volume)."""
    s = {"replicas": 2, "selector": {"matchLabels": {"app": name}},
         "template": {"metadata": {"labels": {"app": name}},
                      "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                               "ports": [{"name": "http", "containerPort": 8080}],
                                               "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
                               "volumes": [{"name": "tmp", "emptyDir": {}}]}}}
    s.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels or {}}, "spec": s}


def role(name, rules=None, kind="Role"):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "rules": rules if rules is not None else [
                {"apiGroups": ["postgresql.cnpg.io"], "resources": ["clusters"], "verbs": ["get", "list"]}]}


def binding(name, role_name, kind="RoleBinding", role_kind="Role", subjects=None):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
            "subjects": subjects if subjects is not None else [
                {"kind": "ServiceAccount", "name": "runner", "namespace": "daap"}]}


def _pb_fields(buf):
    """Decode one level of protobuf wire format into [(field, value)] (varint or bytes)."""
    out, i = [], 0
    while i < len(buf):
        key, shift = 0, 0
        while True:
            b = buf[i]; i += 1
            key |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                break
        num, wt = key >> 3, key & 7
        if wt == 2:
            ln, shift = 0, 0
            while True:
                b = buf[i]; i += 1
                ln |= (b & 0x7F) << shift; shift += 7
                if not b & 0x80:
                    break
            out.append((num, buf[i:i + ln])); i += ln
        elif wt == 0:
            v, shift = 0, 0
            while True:
                b = buf[i]; i += 1
                v |= (b & 0x7F) << shift; shift += 7
                if not b & 0x80:
                    break
            out.append((num, v))
        else:
            raise ValueError("unexpected wire type %d" % wt)
    return out


class ApiTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--ready-delay", "0.4", "--pooler-delay", "0.2", "--bookmark-interval", "0.5").start()
        cls.c = cls.sim.client()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.sim.stop()

    # ------------------------------------------------------------------ basics
    def test_version_healthz(self):
        anon = self.sim.client(token=None)
        r = anon.get("/version")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["major"], "1")
        self.assertTrue(30 <= int(r.json["minor"]) <= 33, r.json)
        r = anon.get("/healthz")
        self.assertEqual((r.status, r.raw), (200, b"ok"))

    def test_flow_control_headers(self):
        """Every request past authentication names its FlowSchema and priority level by UID, as a
        real server with API Priority and Fairness does; clients detect APF by these headers."""
        fs, pl = "X-Kubernetes-PF-FlowSchema-UID", "X-Kubernetes-PF-PriorityLevel-UID"

        def flow(resp):
            return resp.headers.getheader(fs), resp.headers.getheader(pl)

        first, again = self.c.get("/api"), self.c.get(CL)
        self.assertEqual((first.status, again.status), (200, 200))
        for uid in flow(first):
            self.assertEqual(str(uuid.UUID(uid)), uid)
        self.assertEqual(flow(again), flow(first), "one UID per object for the server's life")
        self.assertNotEqual(flow(first)[0], flow(first)[1])
        probe = flow(self.sim.client(token=None).get("/livez"))
        self.assertNotEqual(probe[0], flow(first)[0], "probes have a FlowSchema of their own")
        self.assertEqual(probe[1], flow(first)[1], "probes and the admin share the exempt level")
        denied = self.sim.client(token="wrong").get(CL)
        self.assertEqual((denied.status, flow(denied)), (401, (None, None)), "authentication comes first")
        w = self.c.watch(CL + "?watch=true&timeoutSeconds=1")
        self.assertEqual((w.resp.getheader(fs), w.resp.getheader(pl)), flow(first))
        w.close()

    def test_discovery_legacy(self):
        r = self.c.get("/api")
        self.assertEqual(r.json["kind"], "APIVersions")
        self.assertEqual(r.json["versions"], ["v1"])
        r = self.c.get("/apis")
        groups = {g["name"]: g for g in r.json["groups"]}
        self.assertIn("postgresql.cnpg.io", groups)
        self.assertIn("apps", groups)
        r = self.c.get(CNPG)
        res = {x["name"]: x for x in r.json["resources"]}
        for n, kind in (("clusters", "Cluster"), ("poolers", "Pooler")):
            self.assertEqual(res[n]["kind"], kind)
            self.assertTrue(res[n]["namespaced"])
            self.assertIn("watch", res[n]["verbs"])
            self.assertIn(n + "/status", res)
        core = {x["name"]: x for x in self.c.get("/api/v1").json["resources"]}
        self.assertEqual(core["services"]["shortNames"], ["svc"])
        self.assertEqual(core["namespaces"]["shortNames"], ["ns"])
        self.assertFalse(core["namespaces"]["namespaced"])
        apps = {x["name"]: x for x in self.c.get("/apis/apps/v1").json["resources"]}
        self.assertEqual(apps["deployments"]["verbs"], STD_VERBS)
        self.assertEqual(apps["deployments"]["shortNames"], ["deploy"])
        # the kinds deploy/ uses: ServiceAccount, ConfigMap, Role, RoleBinding (and the cluster-wide RBAC kinds)
        self.assertEqual((core["serviceaccounts"]["kind"], core["serviceaccounts"]["shortNames"]), ("ServiceAccount", ["sa"]))
        self.assertEqual((core["configmaps"]["kind"], core["configmaps"]["shortNames"]), ("ConfigMap", ["cm"]))
        for n in ("serviceaccounts", "configmaps"):
            self.assertTrue(core[n]["namespaced"])
            self.assertEqual(core[n]["verbs"], STD_VERBS)
        self.assertIn("rbac.authorization.k8s.io", groups)
        self.assertEqual(groups["rbac.authorization.k8s.io"]["preferredVersion"]["groupVersion"], "rbac.authorization.k8s.io/v1")
        r = self.c.get(RBAC)
        self.assertEqual((r.json["kind"], r.json["groupVersion"]), ("APIResourceList", "rbac.authorization.k8s.io/v1"))
        rbac = {x["name"]: x for x in r.json["resources"]}
        for n, kind, namespaced in (("roles", "Role", True), ("rolebindings", "RoleBinding", True),
                                    ("clusterroles", "ClusterRole", False),
                                    ("clusterrolebindings", "ClusterRoleBinding", False)):
            self.assertEqual((rbac[n]["kind"], rbac[n]["namespaced"], rbac[n]["verbs"]), (kind, namespaced, STD_VERBS), n)
        self.assertEqual(self.c.get("/apis/rbac.authorization.k8s.io").json["kind"], "APIGroup")

    def test_discovery_aggregated(self):
        acc = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
               "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
        r = self.c.get("/apis", headers={"Accept": acc})
        self.assertEqual(r.headers.getheader("Content-Type"),
                         "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        items = {i["metadata"].get("name"): i for i in r.json["items"]}
        res = {x["resource"]: x for x in items["postgresql.cnpg.io"]["versions"][0]["resources"]}
        self.assertEqual(res["clusters"]["responseKind"]["kind"], "Cluster")
        self.assertEqual(res["clusters"]["scope"], "Namespaced")
        rbac = {x["resource"]: x for x in items["rbac.authorization.k8s.io"]["versions"][0]["resources"]}
        self.assertEqual((rbac["roles"]["responseKind"]["kind"], rbac["roles"]["scope"]), ("Role", "Namespaced"))
        self.assertEqual((rbac["clusterrolebindings"]["responseKind"]["kind"], rbac["clusterrolebindings"]["scope"]),
                         ("ClusterRoleBinding", "Cluster"))
        apps = {x["resource"]: x for x in items["apps"]["versions"][0]["resources"]}
        self.assertIn("create", apps["deployments"]["verbs"])
        r = self.c.get("/api", headers={"Accept": acc})
        core = {x["resource"]: x for x in r.json["items"][0]["versions"][0]["resources"]}
        self.assertEqual((core["configmaps"]["responseKind"]["kind"], core["configmaps"]["shortNames"]), ("ConfigMap", ["cm"]))
        self.assertEqual(core["serviceaccounts"]["responseKind"]["kind"], "ServiceAccount")
        # plain JSON still gets the legacy document
        self.assertEqual(self.c.get("/apis").json["kind"], "APIGroupList")

    def test_openapi(self):
        root = self.c.get("/openapi/v3").json
        url = root["paths"]["apis/postgresql.cnpg.io/v1"]["serverRelativeURL"]
        doc = self.c.get(url).json
        op = doc["paths"]["/apis/postgresql.cnpg.io/v1/namespaces/{namespace}/clusters/{name}"]["patch"]
        self.assertEqual(op["x-kubernetes-group-version-kind"]["kind"], "Cluster")
        self.assertIn("fieldValidation", [p["name"] for p in op["parameters"]])
        r = self.c.get("/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
        self.assertEqual(r.headers.getheader("Content-Type"), "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
        top = dict(_pb_fields(r.raw))
        self.assertEqual(top[1], b"2.0")
        paths = [dict(_pb_fields(v))[1].decode() for n, v in _pb_fields(top[8]) if n == 2]
        self.assertIn("/apis/postgresql.cnpg.io/v1/namespaces/{namespace}/poolers/{name}", paths)
        self.assertIn("/api/v1/namespaces/{namespace}/secrets/{name}", paths)
        for p in ("/api/v1/namespaces/{namespace}/serviceaccounts/{name}", "/api/v1/namespaces/{namespace}/configmaps/{name}",
                  "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
                  "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{name}",
                  "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{name}",
                  "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
                  "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}"):
            self.assertIn(p, paths)
        # v3: one document per group-version, each kind with a PATCH op that kubectl can use
        for gv, path, kind in (("api/v1", "/api/v1/namespaces/{namespace}/configmaps/{name}", "ConfigMap"),
                               ("api/v1", "/api/v1/namespaces/{namespace}/serviceaccounts/{name}", "ServiceAccount"),
                               ("apis/apps/v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "Deployment"),
                               ("apis/rbac.authorization.k8s.io/v1",
                                "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{name}", "RoleBinding"),
                               ("apis/rbac.authorization.k8s.io/v1",
                                "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}", "ClusterRole")):
            doc = self.c.get(root["paths"][gv]["serverRelativeURL"]).json
            op = doc["paths"][path]["patch"]
            self.assertEqual(op["x-kubernetes-group-version-kind"]["kind"], kind)
            self.assertIn("fieldValidation", [p["name"] for p in op["parameters"]])
        self.assertIn(b"x-kubernetes-group-version-kind", r.raw)
        self.assertIn(b"fieldValidation", r.raw)

    def test_auth(self):
        r = self.sim.client(token=None).get("/api")
        self.assertEqual(r.status, 401)
        self.assertEqual((r.json["kind"], r.json["reason"], r.json["code"]), ("Status", "Unauthorized", 401))
        self.assertEqual(self.sim.client(token="wrong").get(CL).status, 401)
        self.assertEqual(self.sim.client(token=None).get("/kubesim/stats").status, 401)
        r = self.sim.client(token=None, cert=True).get(CL)
        self.assertEqual(r.status, 200, r)

    def test_unknown_paths(self):
        r = self.c.get("/apis/postgresql.cnpg.io/v1/namespaces/daap/widgets")
        self.assertEqual((r.status, r.json["reason"]), (404, "NotFound"))
        self.assertEqual(self.c.get("/nothing").status, 404)

    # ------------------------------------------------------------------ CRUD and errors
    def test_create_get_conflict(self):
        r = self.c.post(CL, cluster("crud-a", {"app.kubernetes.io/managed-by": "daap"}))
        self.assertEqual(r.status, 201, r)
        md = r.json["metadata"]
        self.assertRegex(md["uid"], r"^[0-9a-f-]{36}$")
        self.assertRegex(md["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(md["generation"], 1)
        self.assertNotIn("status", r.json)
        self.assertEqual(r.json["spec"]["bootstrap"]["initdb"], {"database": "app", "owner": "app"})
        rv1 = md["resourceVersion"]
        # duplicate
        r = self.c.post(CL, cluster("crud-a"))
        self.assertEqual((r.status, r.json["reason"]), (409, "AlreadyExists"))
        self.assertEqual(r.json["message"], 'clusters.postgresql.cnpg.io "crud-a" already exists')
        # not found
        r = self.c.get(CL + "/nope")
        self.assertEqual((r.status, r.json["reason"]), (404, "NotFound"))
        self.assertEqual(r.json["details"], {"name": "nope", "group": "postgresql.cnpg.io", "kind": "clusters"})
        # update with the current RV, spec change -> generation 2
        obj = self.c.get(CL + "/crud-a").json
        obj["spec"]["instances"] = 2
        obj["metadata"]["resourceVersion"] = rv1
        wait_for(lambda: cluster_ready(self.c, NS, "crud-a"), msg="crud-a ready")
        obj["metadata"]["resourceVersion"] = self.c.get(CL + "/crud-a").json["metadata"]["resourceVersion"]
        r = self.c.put(CL + "/crud-a", obj)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["metadata"]["generation"], 2)
        self.assertEqual(r.json["status"]["observedGeneration"], 2)
        # the scale-up rolls out as CNPG's does: not Ready until the new instance is
        st = r.json["status"]
        self.assertEqual((st["phase"], st["instances"], st["readyInstances"]), ("Creating a new replica", 2, 1))
        self.assertEqual(st["conditions"][0]["status"], "False")
        wait_for(lambda: cluster_ready(self.c, NS, "crud-a"), msg="crud-a ready after the scale-up")
        st = self.c.get(CL + "/crud-a").json["status"]
        self.assertEqual((st["phase"], st["instances"], st["readyInstances"]), ("Cluster in healthy state", 2, 2))
        obj["metadata"]["resourceVersion"] = rv1
        # stale RV -> Conflict
        r = self.c.put(CL + "/crud-a", obj)
        self.assertEqual((r.status, r.json["reason"]), (409, "Conflict"))
        self.assertIn("the object has been modified", r.json["message"])
        # label-only change: generation unchanged
        cur = self.c.get(CL + "/crud-a").json
        r = self.c.patch(CL + "/crud-a", {"metadata": {"labels": {"x": "y"}}})
        self.assertEqual(r.json["metadata"]["generation"], cur["metadata"]["generation"])
        self.assertGreater(int(r.json["metadata"]["resourceVersion"]), int(cur["metadata"]["resourceVersion"]))
        # no-op patch keeps the RV
        r2 = self.c.patch(CL + "/crud-a", {"metadata": {"labels": {"x": "y"}}})
        self.assertEqual(r2.json["metadata"]["resourceVersion"], r.json["metadata"]["resourceVersion"])
        # PUT without resourceVersion is refused for CRDs
        del obj["metadata"]["resourceVersion"]
        r = self.c.put(CL + "/crud-a", obj)
        self.assertEqual((r.status, r.json["reason"]), (422, "Invalid"))

    def test_status_subresource(self):
        self.assertEqual(self.c.post(CL, cluster("stat-a")).status, 201)
        wait_for(lambda: cluster_ready(self.c, NS, "stat-a"))
        cur = self.c.get(CL + "/stat-a").json
        # status in a main-resource patch is ignored
        r = self.c.patch(CL + "/stat-a", {"status": {"phase": "bogus"}})
        self.assertEqual(r.json["status"]["phase"], "Cluster in healthy state")
        # the status subresource changes status, not spec
        r = self.c.patch(CL + "/stat-a/status", {"status": {"phaseReason": "hello"}, "spec": {"instances": 5}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"]["phaseReason"], "hello")
        self.assertEqual(r.json["spec"]["instances"], 1)
        self.assertEqual(r.json["metadata"]["generation"], cur["metadata"]["generation"])

    def test_invalid(self):
        def causes(r):
            return [(c["field"], c["reason"]) for c in r.json["details"]["causes"]]
        r = self.c.post(CL, cluster("Daap_Foo"))
        self.assertEqual((r.status, r.json["reason"], r.json["code"]), (422, "Invalid", 422))
        self.assertIn(("metadata.name", "FieldValueInvalid"), causes(r))
        self.assertEqual(r.json["details"]["kind"], "Cluster")
        self.assertEqual(r.json["details"]["name"], "Daap_Foo")
        r = self.c.post(CL, cluster("a" * 51))
        self.assertEqual(r.status, 422)
        self.assertIn("50", r.json["message"])
        self.assertEqual(self.c.post(CL, cluster("a" * 50)).status, 201)
        self.assertEqual(self.c.post(CL, cluster("1abc")).status, 422)
        self.assertEqual(self.c.post(CL, cluster("a.b")).status, 422)
        bad = cluster("nostorage")
        del bad["spec"]["storage"]
        r = self.c.post(CL, bad)
        self.assertEqual(r.status, 422)
        self.assertIn("spec.storage.size", [c["field"] for c in r.json["details"]["causes"]])
        r = self.c.post(CL, cluster("zero", instances=0))
        self.assertEqual(r.status, 422)
        self.assertIn("spec.instances", [c["field"] for c in r.json["details"]["causes"]])
        for img in ("postgres:latest", "postgres", "postgres@sha256:" + "a" * 64, "postgres:12.1", "postgres:17.100"):
            r = self.c.post(CL, cluster("img-x", imageName=img))
            self.assertEqual(r.status, 422, img)
            self.assertIn("spec.imageName", [c["field"] for c in r.json["details"]["causes"]], img)
        self.assertEqual(self.c.post(CL, cluster("img-ok", imageName="ghcr.io/x/postgresql:17.6-bookworm")).status, 201)
        r = self.c.post(CL, cluster("params", postgresql={"parameters": {"max_connections": 200}}))
        self.assertEqual(r.status, 422)
        # pooler rules
        self.assertEqual(self.c.post(CL, cluster("pcl")).status, 201)
        r = self.c.post(PL, pooler("pcl", "pcl"))
        self.assertEqual(r.status, 422)
        self.assertIn("same name of a cluster", r.json["message"])
        for n in ("pcl-rw", "pcl-ro", "pcl-r", "pcl-any"):
            self.assertEqual(self.c.post(PL, pooler(n, "pcl")).status, 422, n)
        self.assertEqual(self.c.post(PL, pooler("pcl-pool", "pcl", mode="statement")).status, 422)
        p = pooler("pcl-params", "pcl")
        p["spec"]["pgbouncer"]["parameters"] = {"listen_port": "1234"}
        self.assertEqual(self.c.post(PL, p).status, 422)
        self.assertEqual(self.c.post(PL, pooler("pcl-pooler", "pcl")).status, 201)
        # immutable cluster reference
        r = self.c.patch(PL + "/pcl-pooler", {"spec": {"cluster": {"name": "other"}}})
        self.assertEqual(r.status, 422)
        # namespace handling
        r = self.c.post(CNPG + "/namespaces/nosuchns/clusters", cluster("x1"))
        self.assertEqual((r.status, r.json["message"]), (404, 'namespaces "nosuchns" not found'))
        body = cluster("nsmismatch")
        body["metadata"]["namespace"] = "default"
        self.assertEqual(self.c.post(CL, body).status, 400)

    def test_field_validation(self):
        body = cluster("strict-a")
        body["spec"]["foo"] = 1
        r = self.c.post(CL + "?fieldValidation=Strict", body)
        self.assertEqual((r.status, r.json["reason"]), (400, "BadRequest"))
        self.assertIn('unknown field "spec.foo"', r.json["message"])
        r = self.c.post(CL + "?fieldValidation=Warn", body)
        self.assertEqual(r.status, 201)
        self.assertIn("spec.foo", r.headers.getheader("Warning") or "")
        self.assertNotIn("foo", r.json["spec"])
        r = self.c.patch(CL + "/strict-a?fieldValidation=Strict", {"spec": {"bar": 1}})
        self.assertEqual(r.status, 400)

    def test_patch_kinds(self):
        self.assertEqual(self.c.post(CL, cluster("pk-a")).status, 201)
        r = self.c.patch(CL + "/pk-a", [{"op": "test", "path": "/spec/instances", "value": 1},
                                        {"op": "add", "path": "/metadata/labels/k~1x", "value": "v"}],
                         ctype="application/json-patch+json")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["metadata"]["labels"]["k/x"], "v")
        r = self.c.patch(CL + "/pk-a", [{"op": "test", "path": "/spec/instances", "value": 7}],
                         ctype="application/json-patch+json")
        self.assertEqual(r.status, 422)
        r = self.c.patch(CL + "/pk-a", [{"op": "replace", "path": "/metadata/resourceVersion", "value": "1"}],
                         ctype="application/json-patch+json")
        self.assertEqual((r.status, r.json["reason"]), (409, "Conflict"))
        r = self.c.patch(CL + "/pk-a", {"spec": {"instances": 2}}, ctype="application/strategic-merge-patch+json")
        self.assertEqual((r.status, r.json["reason"]), (415, "UnsupportedMediaType"))
        r = self.c.patch(CL + "/pk-a?dryRun=All", {"spec": {"instances": 3}})
        self.assertEqual(r.json["spec"]["instances"], 3)
        self.assertEqual(self.c.get(CL + "/pk-a").json["spec"]["instances"], 1)
        # strategic merge patch on a Service merges ports by port
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "smp-svc"},
               "spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}}
        r = self.c.post("/api/v1/namespaces/daap/services", svc)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json["spec"]["clusterIP"])
        r = self.c.patch("/api/v1/namespaces/daap/services/smp-svc", {"spec": {"ports": [{"port": 81, "name": "bb"}]}},
                         ctype="application/strategic-merge-patch+json")
        self.assertEqual([(p["name"], p["port"]) for p in r.json["spec"]["ports"]], [("a", 80), ("bb", 81)])

    def test_server_side_apply(self):
        cfg = cluster("ssa-a", {"team": "x"})
        cfg["metadata"]["annotations"] = {"note": "1"}
        r = self.c.patch(CL + "/ssa-a?fieldManager=mgr1", cfg, ctype="application/apply-patch+yaml")
        self.assertEqual(r.status, 201, r)
        mf = r.json["metadata"]["managedFields"]
        self.assertEqual((mf[0]["manager"], mf[0]["operation"]), ("mgr1", "Apply"))
        # re-apply without the annotation and with a new value: the annotation is removed
        cfg2 = cluster("ssa-a", {"team": "x"}, instances=2)
        r = self.c.patch(CL + "/ssa-a?fieldManager=mgr1", cfg2, ctype="application/apply-patch+yaml")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["spec"]["instances"], 2)
        self.assertNotIn("note", r.json["metadata"].get("annotations") or {})
        self.assertEqual(r.json["metadata"]["generation"], 2)
        # another manager setting a different value conflicts, unless forced
        cfg3 = cluster("ssa-a", instances=3)
        r = self.c.patch(CL + "/ssa-a?fieldManager=mgr2", cfg3, ctype="application/apply-patch+yaml")
        self.assertEqual((r.status, r.json["reason"]), (409, "Conflict"))
        self.assertEqual(r.json["details"]["causes"][0]["reason"], "FieldManagerConflict")
        self.assertIn(".spec.instances", [c["field"] for c in r.json["details"]["causes"]])
        r = self.c.patch(CL + "/ssa-a?fieldManager=mgr2&force=true", cfg3, ctype="application/apply-patch+yaml")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["spec"]["instances"], 3)
        # fieldManager is required
        r = self.c.patch(CL + "/ssa-a", cfg3, ctype="application/apply-patch+yaml")
        self.assertEqual(r.status, 422)

    # ------------------------------------------------------------------ lists
    def test_list_selectors_and_pages(self):
        ns_body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sel-ns"}}
        self.assertEqual(self.c.post("/api/v1/namespaces", ns_body).status, 201)
        for i, (env, tier) in enumerate([("prod", "a"), ("prod", "b"), ("dev", "a"), ("test", None)]):
            labels = {"app.kubernetes.io/managed-by": "daap", "env": env, "grp": "sel"}
            if tier:
                labels["tier"] = tier
            self.assertEqual(self.c.post(CL, cluster("sel-%d" % i, labels)).status, 201)
        other = cluster("sel-other", {"app.kubernetes.io/managed-by": "daap", "grp": "sel"})
        self.assertEqual(self.c.post(CNPG + "/namespaces/sel-ns/clusters", other).status, 201)

        def names(q, path=CL):
            r = self.c.get(path + "?labelSelector=" + q)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["kind"], "ClusterList")
            self.assertTrue(r.json["metadata"]["resourceVersion"])
            return sorted(o["metadata"]["name"] for o in r.json["items"])
        self.assertEqual(names("grp%3Dsel,env%3Dprod"), ["sel-0", "sel-1"])
        self.assertEqual(names("grp%3Dsel,env!%3Dprod"), ["sel-2", "sel-3"])
        self.assertEqual(names("grp%3Dsel,env%20in%20(dev,test)"), ["sel-2", "sel-3"])
        self.assertEqual(names("grp%3Dsel,env%20notin%20(dev,test)"), ["sel-0", "sel-1"])
        self.assertEqual(names("grp%3Dsel,tier"), ["sel-0", "sel-1", "sel-2"])
        self.assertEqual(names("grp%3Dsel,!tier"), ["sel-3"])
        self.assertEqual(names("grp%3D%3Dsel,tier%3Da"), ["sel-0", "sel-2"])
        self.assertEqual(names("app.kubernetes.io/managed-by%3Ddaap,grp%3Dsel", CNPG + "/clusters"),
                         ["sel-0", "sel-1", "sel-2", "sel-3", "sel-other"])
        r = self.c.get(CNPG + "/clusters?fieldSelector=metadata.namespace%3Dsel-ns")
        self.assertEqual([o["metadata"]["name"] for o in r.json["items"]], ["sel-other"])
        r = self.c.get(CL + "?fieldSelector=metadata.name%3Dsel-2")
        self.assertEqual([o["metadata"]["name"] for o in r.json["items"]], ["sel-2"])
        self.assertEqual(self.c.get(CL + "?fieldSelector=spec.instances%3D1").status, 400)
        self.assertEqual(self.c.get(CL + "?labelSelector=env%20in%20(a").status, 400)
        # pagination
        seen, cont, pages = [], None, 0
        while True:
            r = self.c.get(CL + "?labelSelector=grp%3Dsel&limit=2" + ("&continue=" + cont if cont else ""))
            seen += [o["metadata"]["name"] for o in r.json["items"]]
            pages += 1
            cont = r.json["metadata"].get("continue")
            if not cont:
                break
        self.assertEqual(seen, ["sel-0", "sel-1", "sel-2", "sel-3"])
        self.assertEqual(pages, 2)

    def test_pages_of_a_selector_that_matches_many(self):
        # 30 labelled among 40: pages of 2 walk the key order, pages of 10 sort the matches;
        # both must give every match once, in order, however they are cut.
        for i in range(40):
            labels = {"grp": "many"} if i % 4 else {"grp": "few"}
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "many-%02d" % i, "labels": labels}}
            self.assertEqual(self.c.post(CM, body).status, 201)
        want = ["many-%02d" % i for i in range(40) if i % 4]
        for limit in (2, 10, 0):
            seen, cont = [], None
            while True:
                q = "?labelSelector=grp%%3Dmany&limit=%d" % limit + ("&continue=" + cont if cont else "")
                r = self.c.get(CM + q)
                seen += [o["metadata"]["name"] for o in r.json["items"]]
                cont = r.json["metadata"].get("continue")
                if not cont:
                    break
            self.assertEqual(seen, want, "limit %d" % limit)

    def test_table(self):
        self.assertEqual(self.c.post(CL, cluster("tbl-a")).status, 201)
        wait_for(lambda: cluster_ready(self.c, NS, "tbl-a"))
        acc = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        r = self.c.get(CL + "?fieldSelector=metadata.name%3Dtbl-a", headers={"Accept": acc})
        self.assertEqual(r.json["kind"], "Table")
        cols = [c["name"] for c in r.json["columnDefinitions"]]
        self.assertEqual(cols, ["Name", "Age", "Instances", "Ready", "Status", "Primary"])
        row = r.json["rows"][0]
        self.assertEqual(row["cells"][0], "tbl-a")
        self.assertEqual(row["cells"][4], "Cluster in healthy state")
        self.assertEqual(row["object"]["kind"], "PartialObjectMetadata")
        self.assertEqual(row["object"]["metadata"]["namespace"], "daap")

    # ------------------------------------------------------------------ watch
    def test_watch_events(self):
        lst = self.c.get(CL + "?labelSelector=wgrp%3Dw")
        rv = lst.json["metadata"]["resourceVersion"]
        w = self.c.watch(CL + "?watch=true&labelSelector=wgrp%3Dw&resourceVersion=" + rv)
        self.assertEqual(w.status, 200)
        self.assertEqual(self.c.post(CL, cluster("watch-a", {"wgrp": "w"})).status, 201)
        ev, _ = w.until(lambda e: e["type"] == "ADDED")
        self.assertEqual(ev["object"]["metadata"]["name"], "watch-a")
        ev, _ = w.until(lambda e: e["type"] == "MODIFIED" and
                        (e["object"].get("status") or {}).get("phase") == "Cluster in healthy state")
        self.assertIsNotNone(ev, "no MODIFIED event with the healthy phase")
        # the object stops matching the selector -> DELETED for this watcher
        self.c.patch(CL + "/watch-a", {"metadata": {"labels": {"wgrp": "other"}}})
        ev, _ = w.until(lambda e: e["type"] == "DELETED")
        self.assertIsNotNone(ev)
        w.close()
        # resourceVersion=0: synthetic ADDED for what exists, then live events
        w = self.c.watch(CL + "?watch=true&fieldSelector=metadata.name%3Dwatch-a&resourceVersion=0")
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "watch-a"))
        r = self.c.delete(CL + "/watch-a")
        self.assertEqual(r.status, 200)
        ev, _ = w.until(lambda e: e["type"] == "DELETED")
        self.assertGreater(int(ev["object"]["metadata"]["resourceVersion"]), int(r.json["metadata"]["resourceVersion"]) - 1)
        w.close()

    def test_watch_replay_from_rv(self):
        rv = self.c.get(CL).json["metadata"]["resourceVersion"]
        self.assertEqual(self.c.post(CL, cluster("replay-a")).status, 201)
        self.assertEqual(self.c.post(CL, cluster("replay-b")).status, 201)
        w = self.c.watch(CL + "?watch=1&resourceVersion=%s" % rv)
        got = []
        while len(got) < 2:
            ev = w.next(5)
            self.assertIsNotNone(ev)
            if ev["type"] == "ADDED":
                got.append(ev["object"]["metadata"]["name"])
        self.assertEqual(got, ["replay-a", "replay-b"])
        w.close()

    def test_watch_bookmarks(self):
        w = self.c.watch(CL + "?watch=true&allowWatchBookmarks=true&resourceVersion=" +
                         self.c.get(CL).json["metadata"]["resourceVersion"])
        ev, _ = w.until(lambda e: e["type"] == "BOOKMARK", timeout=3)
        self.assertIsNotNone(ev)
        self.assertEqual(ev["object"]["kind"], "Cluster")
        self.assertTrue(ev["object"]["metadata"]["resourceVersion"].isdigit())
        w.close()
        w = self.c.watch(CL + "?watch=true&fieldSelector=metadata.name%3Dnobody&resourceVersion=" +
                         self.c.get(CL).json["metadata"]["resourceVersion"])
        ev, seen = w.until(lambda e: True, timeout=1.5)
        self.assertIsNone(ev, "unsolicited event %r" % seen)
        w.close()

    def test_watch_too_old_and_timeout(self):
        w = self.c.watch(CL + "?watch=true&resourceVersion=1")
        self.assertEqual(w.status, 200)
        ev = w.next()
        self.assertEqual(ev["type"], "ERROR")
        self.assertEqual((ev["object"]["code"], ev["object"]["reason"]), (410, "Expired"))
        w.close()
        t0 = time.time()
        w = self.c.watch(CL + "?watch=true&timeoutSeconds=1&resourceVersion=" +
                         self.c.get(CL).json["metadata"]["resourceVersion"])
        while w.next(5) is not None:
            pass
        self.assertTrue(w.eof)
        self.assertIsNone(w.error, "stream not ended cleanly: %r" % w.error)
        self.assertLess(time.time() - t0, 3)
        w.close()

    # ------------------------------------------------------------------ operator
    def test_cluster_lifecycle_and_secret(self):
        body = cluster("life-a", bootstrap={"initdb": {"database": "orders", "owner": "orders_owner"}})
        body["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "daap", "daap.dev/database-id": "7"}
        self.assertEqual(self.c.post(CL, body).status, 201)
        wait_for(lambda: phase(self.c, NS, "life-a") == "Setting up primary", msg="Setting up primary")
        st = self.c.get(CL + "/life-a").json["status"]
        self.assertEqual([(c["type"], c["status"], c["reason"]) for c in st["conditions"]],
                         [("Ready", "False", "ClusterIsNotReady")])
        wait_for(lambda: cluster_ready(self.c, NS, "life-a"), msg="Ready")
        obj = self.c.get(CL + "/life-a").json
        st = obj["status"]
        self.assertEqual(st["phase"], "Cluster in healthy state")
        self.assertEqual(st["readyInstances"], 1)
        self.assertEqual(st["currentPrimary"], "life-a-1")
        self.assertEqual(st["observedGeneration"], obj["metadata"]["generation"])
        cond = [c for c in st["conditions"] if c["type"] == "Ready"][0]
        self.assertEqual((cond["reason"], cond["message"]), ("ClusterIsReady", "Cluster is Ready"))
        sec = self.c.get("/api/v1/namespaces/daap/secrets/life-a-app").json
        self.assertEqual(sec["type"], "kubernetes.io/basic-auth")
        self.assertEqual(sec["metadata"]["labels"]["cnpg.io/cluster"], "life-a")
        self.assertEqual(sec["metadata"]["labels"]["cnpg.io/userType"], "app")
        ref = sec["metadata"]["ownerReferences"][0]
        self.assertEqual((ref["kind"], ref["name"], ref["uid"], ref["controller"]),
                         ("Cluster", "life-a", obj["metadata"]["uid"], True))
        d = {k: base64.b64decode(v).decode() for k, v in sec["data"].items()}
        self.assertEqual(sorted(d), sorted(["username", "user", "password", "dbname", "host", "port", "pgpass", "uri",
                                            "jdbc-uri", "fqdn-uri", "fqdn-jdbc-uri"]))
        pw = d["password"]
        self.assertRegex(pw, r"^[A-Za-z0-9]{64}$")
        self.assertEqual((d["username"], d["user"], d["dbname"], d["host"], d["port"]),
                         ("orders_owner", "orders_owner", "orders", "life-a-rw", "5432"))
        self.assertEqual(d["pgpass"], "life-a-rw:5432:orders:orders_owner:%s\n" % pw)
        self.assertEqual(d["uri"], "postgresql://orders_owner:%s@life-a-rw.daap:5432/orders" % pw)
        self.assertEqual(d["jdbc-uri"], "jdbc:postgresql://life-a-rw.daap:5432/orders?password=%s&user=orders_owner" % pw)
        self.assertEqual(d["fqdn-uri"],
                         "postgresql://orders_owner:%s@life-a-rw.daap.svc.cluster.local:5432/orders" % pw)
        self.assertEqual(d["fqdn-jdbc-uri"], "jdbc:postgresql://life-a-rw.daap.svc.cluster.local:5432/orders"
                         "?password=%s&user=orders_owner" % pw)
        for sfx in ("rw", "ro", "r"):
            svc = self.c.get("/api/v1/namespaces/daap/services/life-a-" + sfx).json
            self.assertEqual(svc["spec"]["ports"][0]["port"], 5432)
            self.assertEqual(svc["spec"]["ports"][0]["name"], "postgres")
            self.assertEqual(svc["metadata"]["ownerReferences"][0]["uid"], obj["metadata"]["uid"])

    def test_pooler_objects_and_deployments(self):
        self.assertEqual(self.c.post(CL, cluster("pobj")).status, 201)
        r = self.c.post(PL, pooler("pobj-pooler", "pobj", labels={"app.kubernetes.io/managed-by": "daap"}))
        self.assertEqual(r.status, 201, r)

        def dep_ready():
            d = self.c.get("/apis/apps/v1/namespaces/daap/deployments/pobj-pooler")
            return d.status == 200 and (d.json.get("status") or {}).get("readyReplicas", 0) >= 1 and d.json
        dep = wait_for(dep_ready, msg="pooler deployment ready")
        self.assertEqual(dep["metadata"]["ownerReferences"][0]["kind"], "Pooler")
        svc = self.c.get("/api/v1/namespaces/daap/services/pobj-pooler").json
        self.assertEqual([(p["name"], p["port"]) for p in svc["spec"]["ports"]], [("pgbouncer", 5432)])
        lst = self.c.get(PL + "?labelSelector=app.kubernetes.io/managed-by%3Ddaap").json
        self.assertIn("pobj-pooler", [o["metadata"]["name"] for o in lst["items"]])
        dp = "/apis/apps/v1/namespaces/daap/deployments"
        # clients may write the operator's Deployment too (as on a real server); its status stays the operator's
        r = self.c.patch(dp + "/pobj-pooler", {"metadata": {"labels": {"touched": "yes"}}, "status": {"readyReplicas": 9}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["metadata"]["labels"]["touched"], r.json["status"]["readyReplicas"]), ("yes", 1))
        self.assertEqual(r.json["metadata"]["generation"], dep["metadata"]["generation"])
        # deleting the pooler collects its Deployment and Service
        self.assertEqual(self.c.delete(PL + "/pobj-pooler").status, 200)
        wait_for(lambda: self.c.get(dp + "/pobj-pooler").status == 404 and
                 self.c.get("/api/v1/namespaces/daap/services/pobj-pooler").status == 404, msg="pooler GC")

    def test_pooler_without_cluster_is_inactive(self):
        self.assertEqual(self.c.post(PL, pooler("lonely-pooler", "lonely")).status, 201)
        wait_for(lambda: (self.c.get(PL + "/lonely-pooler").json.get("status") or {}).get("phase") == "inactive")
        dep = self.c.get("/apis/apps/v1/namespaces/daap/deployments/lonely-pooler").json
        self.assertEqual(dep["status"]["readyReplicas"], 0)
        self.assertEqual(self.c.post(CL, cluster("lonely")).status, 201)
        wait_for(lambda: self.c.get("/apis/apps/v1/namespaces/daap/deployments/lonely-pooler")
                 .json["status"]["readyReplicas"] == 1, msg="pooler ready once its cluster exists")

    def test_garbage_collection(self):
        self.assertEqual(self.c.post(CL, cluster("gc-a")).status, 201)
        wait_for(lambda: self.c.get("/api/v1/namespaces/daap/secrets/gc-a-app").status == 200)
        w = self.c.watch("/api/v1/namespaces/daap/secrets?watch=true&fieldSelector=metadata.name%3Dgc-a-app&"
                         "resourceVersion=" + self.c.get("/api/v1/namespaces/daap/secrets").json["metadata"]["resourceVersion"])
        r = self.c.delete(CL + "/gc-a", {"propagationPolicy": "Background"})
        self.assertEqual(r.status, 200)
        self.assertEqual(self.c.get(CL + "/gc-a").status, 404)
        ev, _ = w.until(lambda e: e["type"] == "DELETED", timeout=5)
        self.assertIsNotNone(ev, "no DELETED event for the owned Secret")
        w.close()
        for n in ("gc-a-app",):
            self.assertEqual(self.c.get("/api/v1/namespaces/daap/secrets/" + n).status, 404)
        wait_for(lambda: all(self.c.get("/api/v1/namespaces/daap/services/gc-a-" + s).status == 404
                             for s in ("rw", "ro", "r")), msg="services collected")
        # Orphan keeps dependents and strips their owner reference
        self.assertEqual(self.c.post(CL, cluster("gc-b")).status, 201)
        wait_for(lambda: self.c.get("/api/v1/namespaces/daap/secrets/gc-b-app").status == 200)
        self.assertEqual(self.c.delete(CL + "/gc-b", {"propagationPolicy": "Orphan"}).status, 200)
        time.sleep(0.3)
        sec = self.c.get("/api/v1/namespaces/daap/secrets/gc-b-app")
        self.assertEqual(sec.status, 200)
        self.assertFalse(sec.json["metadata"].get("ownerReferences"))
        # Foreground: the owner goes last
        self.assertEqual(self.c.post(CL, cluster("gc-c")).status, 201)
        wait_for(lambda: self.c.get("/api/v1/namespaces/daap/secrets/gc-c-app").status == 200)
        self.assertEqual(self.c.put("/api/v1/namespaces/daap/secrets/gc-c-app",
                                    dict(self.c.get("/api/v1/namespaces/daap/secrets/gc-c-app").json,
                                         metadata=dict(self.c.get("/api/v1/namespaces/daap/secrets/gc-c-app")
                                                       .json["metadata"], finalizers=["test/hold"]))).status, 200)
        r = self.c.delete(CL + "/gc-c", {"propagationPolicy": "Foreground"})
        self.assertIn(r.status, (200, 202))
        time.sleep(0.3)
        held = self.c.get(CL + "/gc-c")
        self.assertEqual(held.status, 200, "owner must wait for its dependents")
        self.assertIn("deletionTimestamp", held.json["metadata"])
        self.c.patch("/api/v1/namespaces/daap/secrets/gc-c-app", {"metadata": {"finalizers": None}})
        wait_for(lambda: self.c.get(CL + "/gc-c").status == 404, msg="foreground owner deleted")

    def test_finalizers_and_secret_semantics(self):
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "fin-a", "finalizers": ["x/y"]},
                "stringData": {"k": "hello"}}
        r = self.c.post("/api/v1/namespaces/daap/secrets", body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["type"], "Opaque")
        self.assertEqual(base64.b64decode(r.json["data"]["k"]), b"hello")
        self.assertNotIn("stringData", r.json)
        r = self.c.delete("/api/v1/namespaces/daap/secrets/fin-a")
        self.assertEqual(r.status, 202)
        self.assertIn("deletionTimestamp", r.json["metadata"])
        self.assertEqual(self.c.get("/api/v1/namespaces/daap/secrets/fin-a").status, 200)
        self.c.patch("/api/v1/namespaces/daap/secrets/fin-a", {"metadata": {"finalizers": None}})
        self.assertEqual(self.c.get("/api/v1/namespaces/daap/secrets/fin-a").status, 404)
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain-a"}, "data": {"k": "aGk="}}
        self.assertEqual(self.c.post("/api/v1/namespaces/daap/secrets", body).status, 201)
        r = self.c.delete("/api/v1/namespaces/daap/secrets/plain-a")
        self.assertEqual((r.status, r.json["kind"], r.json["status"]), (200, "Status", "Success"))
        bad = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bad-a"}, "data": {"k": "!!!"}}
        self.assertEqual(self.c.post("/api/v1/namespaces/daap/secrets", bad).status, 422)

    def test_namespace_lifecycle(self):
        self.assertEqual(self.c.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                            "metadata": {"name": "tmp-ns"}}).status, 201)
        self.assertEqual(self.c.post(CNPG + "/namespaces/tmp-ns/clusters", cluster("in-tmp")).status, 201)
        r = self.c.delete("/api/v1/namespaces/tmp-ns")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["status"]["phase"], "Terminating")
        wait_for(lambda: self.c.get("/api/v1/namespaces/tmp-ns").status == 404, msg="namespace gone")
        self.assertEqual(self.c.get(CNPG + "/namespaces/tmp-ns/clusters/in-tmp").status, 404)
        self.assertEqual(self.c.delete("/api/v1/namespaces/default").status, 403)
        self.assertEqual(self.c.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                            "metadata": {"name": "Bad_NS"}}).status, 422)

    def test_storage_resize_and_scale_down_roll_out(self):
        self.assertEqual(self.c.post(CL, cluster("roll-a", instances=3)).status, 201)
        wait_for(lambda: cluster_ready(self.c, NS, "roll-a"), msg="roll-a ready")
        r = self.c.patch(CL + "/roll-a", {"spec": {"storage": {"size": "2Gi"}}})
        st = r.json["status"]
        self.assertEqual((st["phase"], st["phaseReason"]), ("Waiting for the instances to become active",
                                                            "Resizing the volumes to 2Gi"))
        self.assertEqual(st["conditions"][0]["status"], "False")
        wait_for(lambda: cluster_ready(self.c, NS, "roll-a"), msg="roll-a ready after the resize")
        r = self.c.patch(CL + "/roll-a", {"spec": {"storage": {"size": "1Gi"}}})
        self.assertEqual(r.status, 422)
        self.assertIn("can't shrink existing storage", r.json["message"])
        r = self.c.patch(CL + "/roll-a", {"spec": {"instances": 1}})
        st = r.json["status"]
        self.assertEqual((st["phase"], st["instances"], st["readyInstances"]),
                         ("Waiting for the instances to become active", 1, 1))
        wait_for(lambda: cluster_ready(self.c, NS, "roll-a"), msg="roll-a ready after the scale-down")
        st = self.c.get(CL + "/roll-a").json["status"]
        self.assertEqual((st["phase"], st["readyInstances"], st["instanceNames"]),
                         ("Cluster in healthy state", 1, ["roll-a-1"]))
        reasons = [e["reason"] for e in self.c.get("/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name"
                                                   "%%3Droll-a" % NS).json["items"]]
        self.assertEqual(reasons.count("RollingOut"), 2, reasons)

    def test_scale_subresource(self):
        self.assertEqual(self.c.post(CL, cluster("scale-a")).status, 201)
        r = self.c.get(CL + "/scale-a/scale")
        self.assertEqual((r.json["kind"], r.json["spec"]["replicas"]), ("Scale", 1))
        r = self.c.patch(CL + "/scale-a/scale", {"spec": {"replicas": 3}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.c.get(CL + "/scale-a").json["spec"]["instances"], 3)

    def test_generate_name_and_rv_order(self):
        body = cluster("")
        body["metadata"] = {"generateName": "gen-"}
        r = self.c.post(CL, body)
        self.assertEqual(r.status, 201, r)
        self.assertRegex(r.json["metadata"]["name"], r"^gen-[a-z0-9]{5}$")
        rv1 = int(r.json["metadata"]["resourceVersion"])
        r = self.c.post("/api/v1/namespaces/daap/secrets", {"apiVersion": "v1", "kind": "Secret",
                                                            "metadata": {"name": "rv-order"}})
        self.assertGreater(int(r.json["metadata"]["resourceVersion"]), rv1)


    def test_deletecollection_legacy_watch_initial_events(self):
        for i in range(3):
            self.assertEqual(self.c.post(CL, cluster("dc-%d" % i, {"dc": "yes"})).status, 201)
        self.assertEqual(self.c.post(CL, cluster("dc-keep", {"dc": "no"})).status, 201)
        rv = self.c.get(CL).json["metadata"]["resourceVersion"]
        w = self.c.watch(CNPG + "/watch/namespaces/daap/clusters?labelSelector=dc%3Dyes&resourceVersion=" + rv)
        r = self.c.delete(CL + "?labelSelector=dc%3Dyes")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(o["metadata"]["name"] for o in r.json["items"]), ["dc-0", "dc-1", "dc-2"])
        self.assertEqual([o["metadata"]["name"] for o in self.c.get(CL + "?labelSelector=dc").json["items"]],
                         ["dc-keep"])
        deleted = set()
        while len(deleted) < 3:
            ev = w.next(5)
            self.assertIsNotNone(ev)
            if ev["type"] == "DELETED":
                deleted.add(ev["object"]["metadata"]["name"])
        w.close()
        w = self.c.watch(CL + "?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&"
                         "resourceVersionMatch=NotOlderThan&labelSelector=dc")
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "dc-keep"))
        ev = w.next()
        self.assertEqual(ev["type"], "BOOKMARK")
        self.assertEqual(ev["object"]["metadata"]["annotations"], {"k8s.io/initial-events-end": "true"})
        w.close()

    # ------------------------------------------------------------------ ServiceAccount, ConfigMap, RBAC, Deployment
    def test_deploy_kinds_crud(self):
        """create, get, list (namespace and all namespaces), Table, delete for the kinds deploy/ uses."""
        cases = [
            (SA, "/api/v1/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                             "metadata": {"name": "crud-sa"}, "automountServiceAccountToken": False},
             "ServiceAccountList", ["Name", "Secrets", "Age"]),
            (CM, "/api/v1/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "crud-cm"},
                                        "data": {"a": "1", "b.yaml": "x: 1\n"}, "binaryData": {"c": "AAE="}},
             "ConfigMapList", ["Name", "Data", "Age"]),
            (ROLES, RBAC + "/roles", role("crud-role"), "RoleList", ["Name", "Created At"]),
            (RB, RBAC + "/rolebindings", binding("crud-rb", "crud-role"), "RoleBindingList",
             ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"]),
            (RBAC + "/clusterroles", None, role("crud-crole", kind="ClusterRole"), "ClusterRoleList",
             ["Name", "Created At"]),
            (RBAC + "/clusterrolebindings", None,
             binding("crud-crb", "crud-crole", kind="ClusterRoleBinding", role_kind="ClusterRole"),
             "ClusterRoleBindingList", ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"]),
            (DEP, "/apis/apps/v1/deployments", deployment("crud-dep"), "DeploymentList",
             ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]),
        ]
        for coll, all_ns, body, list_kind, cols in cases:
            name = body["metadata"]["name"]
            with self.subTest(kind=body["kind"]):
                r = self.c.post(coll, body)
                self.assertEqual(r.status, 201, r)
                md = r.json["metadata"]
                self.assertEqual((r.json["kind"], r.json["apiVersion"], md["name"]),
                                 (body["kind"], body["apiVersion"], name))
                self.assertRegex(md["uid"], r"^[0-9a-f-]{36}$")
                self.assertTrue(md["resourceVersion"].isdigit())
                self.assertRegex(md["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                if all_ns:
                    self.assertEqual(md["namespace"], "daap")
                else:
                    self.assertNotIn("namespace", md)
                self.assertEqual(md.get("generation"), 1 if body["kind"] == "Deployment" else None)
                self.assertEqual(self.c.post(coll, body).json["reason"], "AlreadyExists")
                g = self.c.get(coll + "/" + name)
                self.assertEqual((g.status, g.json["metadata"]["uid"]), (200, md["uid"]))
                lst = self.c.get(coll)
                self.assertEqual((lst.json["kind"], lst.json["apiVersion"]), (list_kind, body["apiVersion"]))
                self.assertIn(name, [o["metadata"]["name"] for o in lst.json["items"]])
                if all_ns:
                    lst = self.c.get(all_ns + "?fieldSelector=metadata.name%3D" + name)
                    self.assertEqual([(o["metadata"]["namespace"], o["metadata"]["name"]) for o in lst.json["items"]],
                                     [("daap", name)])
                t = self.c.get(coll + "/" + name, headers={"Accept": TABLE})
                self.assertEqual(t.json["kind"], "Table")
                self.assertEqual([c["name"] for c in t.json["columnDefinitions"]], cols)
                self.assertEqual(t.json["rows"][0]["cells"][0], name)
                self.assertEqual(len(t.json["rows"][0]["cells"]), len(cols))
                d = self.c.delete(coll + "/" + name)
                self.assertEqual(d.status, 200, d)
                if body["kind"] != "Deployment":
                    self.assertEqual((d.json["kind"], d.json["status"], d.json["details"]["name"]),
                                     ("Status", "Success", name))
                self.assertEqual(self.c.get(coll + "/" + name).json["reason"], "NotFound")
        # the Table cells kubectl prints
        self.assertEqual(self.c.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cells-cm"},
                                          "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AAE="}}).status, 201)
        self.assertEqual(self.c.get(CM + "/cells-cm", headers={"Accept": TABLE}).json["rows"][0]["cells"][1], 3)
        self.assertEqual(self.c.post(RB, binding("cells-rb", "x", subjects=[
            {"kind": "ServiceAccount", "name": "runner", "namespace": "daap"}, {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "ops"}])).status, 201)
        cells = self.c.get(RB + "/cells-rb", headers={"Accept": TABLE}).json["rows"][0]["cells"]
        self.assertEqual((cells[1], cells[3], cells[4], cells[5]), ("Role/x", "alice", "ops", "daap/runner"))
        self.assertEqual(self.c.post(DEP, deployment("cells-dep")).status, 201)
        cells = self.c.get(DEP + "/cells-dep", headers={"Accept": TABLE}).json["rows"][0]["cells"]
        self.assertEqual((cells[1], cells[5], cells[6], cells[7]), ("0/2", "web", "nginx:1.27", "app=cells-dep"))
        # a watch sees them like any other kind
        rv = self.c.get(SA).json["metadata"]["resourceVersion"]
        w = self.c.watch(SA + "?watch=true&resourceVersion=" + rv)
        self.assertEqual(self.c.post(SA, {"apiVersion": "v1", "kind": "ServiceAccount",
                                          "metadata": {"name": "watched-sa"}}).status, 201)
        ev, _ = w.until(lambda e: e["type"] == "ADDED")
        self.assertEqual((ev["object"]["kind"], ev["object"]["metadata"]["name"]), ("ServiceAccount", "watched-sa"))
        w.close()
        # namespaced kinds need their namespace
        r = self.c.post("/api/v1/namespaces/nosuchns/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                                  "metadata": {"name": "x"}})
        self.assertEqual((r.status, r.json["message"]), (404, 'namespaces "nosuchns" not found'))
        # a Role in the wrong API path does not exist
        self.assertEqual(self.c.get(RBAC + "/namespaces/daap/clusterroles").status, 404)
        # dry run stores nothing
        r = self.c.post(ROLES + "?dryRun=All", role("dry-role"))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.c.get(ROLES + "/dry-role").status, 404)

    def test_deploy_kinds_validation(self):
        def causes(r):
            return [(c["field"], c["reason"]) for c in (r.json.get("details") or {}).get("causes") or []]
        # names: DNS-1123 subdomains for ServiceAccounts, ConfigMaps and Deployments ...
        for coll, body in ((SA, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "Bad_SA"}}),
                           (CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad_cm"}}),
                           (DEP, deployment("Bad.Dep"))):
            r = self.c.post(coll, body)
            self.assertEqual((r.status, r.json["reason"]), (422, "Invalid"), body["kind"])
            self.assertIn(("metadata.name", "FieldValueInvalid"), causes(r))
            self.assertIn('%s "%s" is invalid' % ("Deployment.apps" if body["kind"] == "Deployment" else body["kind"],
                                                  body["metadata"]["name"]), r.json["message"])
        self.assertEqual(self.c.post(CM, {"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "a.b-c"}}).status, 201)
        # ... and path segments for RBAC, as the real server: "system:foo" and capitals are valid, "%" is not
        self.assertEqual(self.c.post(ROLES, role("system:Reader")).status, 201)
        self.assertEqual(self.c.get(ROLES + "/system:Reader").status, 200)
        r = self.c.post(ROLES, role("50%"))
        self.assertEqual(r.status, 422)
        self.assertIn("may not contain '%'", r.json["message"])
        # strict field validation and decoding
        body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "strict-sa"}, "automount": True}
        r = self.c.post(SA + "?fieldValidation=Strict", body)
        self.assertEqual((r.status, r.json["reason"]), (400, "BadRequest"))
        self.assertIn('unknown field "automount"', r.json["message"])
        dep = deployment("strict-dep")
        dep["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
        r = self.c.post(DEP + "?fieldValidation=Strict", dep)
        self.assertEqual(r.status, 400)
        self.assertIn('unknown field "spec.template.spec.containers[0].imagePulPolicy"', r.json["message"])
        r = self.c.post(DEP + "?fieldValidation=Warn", dep)
        self.assertEqual(r.status, 201, r)
        self.assertIn("imagePulPolicy", r.headers.getheader("Warning") or "")
        self.assertNotIn("imagePulPolicy", r.json["spec"]["template"]["spec"]["containers"][0])
        r = self.c.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "num-cm"}, "data": {"n": 9}})
        self.assertEqual(r.status, 400)
        self.assertIn("cannot unmarshal number into Go struct field ConfigMap.data of type string", r.json["message"])
        # ConfigMap keys, duplicates across data/binaryData, immutability
        r = self.c.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "key-cm"},
                             "data": {"bad key": "x", "dup": "1"}, "binaryData": {"dup": "AA=="}})
        self.assertEqual(r.status, 422)
        self.assertEqual(sorted(causes(r)), [("binaryData[dup]", "FieldValueInvalid"), ("data[bad key]", "FieldValueInvalid"),
                                             ("data[dup]", "FieldValueInvalid")])
        self.assertEqual(self.c.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "imm-cm"},
                                          "data": {"a": "1"}, "immutable": True}).status, 201)
        r = self.c.patch(CM + "/imm-cm", {"data": {"a": "2"}})
        self.assertEqual(r.status, 422)
        self.assertIn("field is immutable when `immutable` is set", r.json["message"])
        self.assertEqual(self.c.patch(CM + "/imm-cm", {"metadata": {"labels": {"x": "y"}}}).status, 200)
        # Role rules
        r = self.c.post(ROLES, role("rules-role", [{"apiGroups": [""], "resources": ["secrets"]},
                                                   {"verbs": ["get"], "resources": ["pods"]},
                                                   {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]))
        self.assertEqual(r.status, 422)
        self.assertEqual(causes(r), [("rules[0].verbs", "FieldValueRequired"), ("rules[1].apiGroups", "FieldValueRequired"),
                                     ("rules[2].nonResourceURLs", "FieldValueInvalid")])
        r = self.c.post(RBAC + "/clusterroles", role("urls-crole", [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}],
                                                     kind="ClusterRole"))
        self.assertEqual(r.status, 201, r)
        # bindings: roleRef and subjects, defaulted apiGroups, immutable roleRef
        b = binding("bad-rb", "r")
        b["roleRef"]["kind"] = "Rol"
        b["subjects"] = [{"kind": "ServiceAccount", "name": "sa", "apiGroup": "rbac.authorization.k8s.io"},
                         {"kind": "Robot", "name": "x"}]
        r = self.c.post(RB, b)
        self.assertEqual(r.status, 422)
        self.assertEqual(causes(r), [("roleRef.kind", "FieldValueNotSupported"),
                                     ("subjects[0].apiGroup", "FieldValueNotSupported"),
                                     ("subjects[1].kind", "FieldValueNotSupported")])
        b = binding("def-rb", "r", subjects=[{"kind": "User", "name": "alice"}])
        del b["roleRef"]["apiGroup"]
        r = self.c.post(RB, b)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["roleRef"]["apiGroup"], "rbac.authorization.k8s.io")
        self.assertEqual(r.json["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io")
        r = self.c.patch(RB + "/def-rb", {"roleRef": {"name": "other"}})
        self.assertEqual(r.status, 422)
        self.assertIn("cannot change roleRef", r.json["message"])
        r = self.c.post(RBAC + "/clusterrolebindings", binding("ns-crb", "c", kind="ClusterRoleBinding", role_kind="Role",
                                                               subjects=[{"kind": "ServiceAccount", "name": "sa"}]))
        self.assertEqual(r.status, 422)
        self.assertEqual(causes(r), [("roleRef.kind", "FieldValueNotSupported"), ("subjects[0].namespace", "FieldValueRequired")])
        # Deployments: selector, template, containers, volumes
        bad = deployment("bad-dep")
        bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
        tpl = bad["spec"]["template"]["spec"]
        tpl["containers"].append({"name": "web"})
        tpl["containers"][0]["volumeMounts"].append({"name": "nope", "mountPath": "/x"})
        tpl["containers"][0]["ports"][0]["containerPort"] = 70000
        r = self.c.post(DEP, bad)
        self.assertEqual(r.status, 422)
        self.assertEqual(causes(r), [
            ("spec.template.metadata.labels", "FieldValueInvalid"),
            ("spec.template.spec.containers[0].ports[0].containerPort", "FieldValueInvalid"),
            ("spec.template.spec.containers[0].volumeMounts[1].name", "FieldValueNotFound"),
            ("spec.template.spec.containers[1].name", "FieldValueDuplicate"),
            ("spec.template.spec.containers[1].image", "FieldValueRequired")])
        nosel = deployment("nosel-dep")
        del nosel["spec"]["selector"]
        nosel["spec"]["template"]["spec"]["containers"] = []
        r = self.c.post(DEP, nosel)
        self.assertEqual(causes(r), [("spec.selector", "FieldValueRequired"),
                                     ("spec.template.spec.containers", "FieldValueRequired")])

    def test_user_deployment(self):
        body = deployment("user-dep", replicas=None)
        body["status"] = {"replicas": 5}
        r = self.c.post(DEP + "?fieldManager=me&fieldValidation=Strict", body)
        self.assertEqual(r.status, 201, r)
        d = r.json
        # stored with a real server's defaults and an empty status (no pods are simulated for it)
        self.assertEqual((d["spec"]["replicas"], d["spec"]["revisionHistoryLimit"], d["spec"]["progressDeadlineSeconds"]),
                         (1, 10, 600))
        self.assertEqual(d["spec"]["strategy"], {"type": "RollingUpdate",
                                                 "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        self.assertEqual(d["spec"]["template"]["spec"]["restartPolicy"], "Always")
        self.assertEqual(d["status"], {})
        self.assertEqual(d["metadata"]["managedFields"][0]["manager"], "me")
        # spec changes bump the generation, status goes through /status only
        r = self.c.patch(DEP + "/user-dep", {"spec": {"replicas": 3}, "status": {"replicas": 7}})
        self.assertEqual((r.json["spec"]["replicas"], r.json["metadata"]["generation"], r.json["status"]), (3, 2, {}))
        r = self.c.patch(DEP + "/user-dep/status", {"status": {"replicas": 3, "readyReplicas": 3}})
        self.assertEqual((r.status, r.json["status"]["readyReplicas"], r.json["metadata"]["generation"]), (200, 3, 2))
        # the selector is immutable
        r = self.c.patch(DEP + "/user-dep", {"spec": {"selector": {"matchLabels": {"app": "x"}},
                                                      "template": {"metadata": {"labels": {"app": "x"}}}}})
        self.assertEqual(r.status, 422)
        self.assertIn("field is immutable", r.json["message"])
        # strategic merge patch merges containers by name and their ports by containerPort
        r = self.c.patch(DEP + "/user-dep", {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.28", "ports": [{"containerPort": 8080, "name": "web"}]}]}}}},
            ctype="application/strategic-merge-patch+json")
        self.assertEqual(r.status, 200, r)
        c = r.json["spec"]["template"]["spec"]["containers"]
        self.assertEqual((len(c), c[0]["image"], c[0]["ports"], c[0]["volumeMounts"][0]["mountPath"]),
                         (1, "nginx:1.28", [{"name": "web", "containerPort": 8080}], "/tmp"))
        # PUT with the stored object works, server-side apply creates and updates
        cur = self.c.get(DEP + "/user-dep").json
        cur["spec"]["paused"] = True
        self.assertEqual(self.c.put(DEP + "/user-dep", cur).status, 200)
        cfg = deployment("ssa-dep")
        r = self.c.patch(DEP + "/ssa-dep?fieldManager=tool", cfg, ctype="application/apply-patch+yaml")
        self.assertEqual(r.status, 201, r)
        cfg["spec"]["replicas"] = 4
        r = self.c.patch(DEP + "/ssa-dep?fieldManager=tool", cfg, ctype="application/apply-patch+yaml")
        self.assertEqual((r.status, r.json["spec"]["replicas"], r.json["metadata"]["generation"]), (200, 4, 2))
        # it is not confused with a Pooler's Deployment: the operator leaves it alone
        time.sleep(0.3)
        self.assertEqual(self.c.get(DEP + "/ssa-dep").json["status"], {})
        self.assertEqual(self.c.delete(DEP + "/ssa-dep").status, 200)

    def test_server_side_apply_same_values_as_another_manager(self):
        """Applying the values another manager set is no conflict, even where the server added defaults
        (a Service port's protocol and targetPort) or converted the body (a Secret's stringData)."""
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "co-svc"},
               "spec": {"selector": {"app": "x"}, "ports": [{"name": "http", "port": 80}]}}
        r = self.c.post("/api/v1/namespaces/daap/services?fieldManager=kubectl-client-side-apply", svc)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["spec"]["ports"][0]["protocol"], "TCP")
        r = self.c.patch("/api/v1/namespaces/daap/services/co-svc?fieldManager=kubectl&force=false", svc,
                         ctype="application/apply-patch+yaml")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["spec"]["ports"][0], {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80})
        svc["spec"]["ports"][0]["port"] = 81
        r = self.c.patch("/api/v1/namespaces/daap/services/co-svc?fieldManager=other&force=false", svc,
                         ctype="application/apply-patch+yaml")
        self.assertEqual((r.status, r.json["reason"]), (409, "Conflict"))
        self.assertIn(".spec.ports", [c["field"] for c in r.json["details"]["causes"]])
        sec = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "co-sec"}, "stringData": {"uri": "pg://x"}}
        r = self.c.post("/api/v1/namespaces/daap/secrets?fieldManager=kubectl-client-side-apply", sec)
        self.assertEqual(r.status, 201, r)
        fields = r.json["metadata"]["managedFields"][0]["fieldsV1"]
        self.assertIn("f:data", fields)
        self.assertNotIn("f:stringData", fields)
        r = self.c.patch("/api/v1/namespaces/daap/secrets/co-sec?fieldManager=kubectl&force=false", sec,
                         ctype="application/apply-patch+yaml")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(base64.b64decode(r.json["data"]["uri"]), b"pg://x")
        self.assertNotIn("stringData", r.json)
        # ConfigMaps and Deployments: an unchanged value is shared, a changed one conflicts
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "co-cm"}, "data": {"a": "1"}}
        self.assertEqual(self.c.post(CM + "?fieldManager=one", cm).status, 201)
        self.assertEqual(self.c.patch(CM + "/co-cm?fieldManager=two", cm, ctype="application/apply-patch+yaml").status, 200)
        cm["data"]["a"] = "2"
        self.assertEqual(self.c.patch(CM + "/co-cm?fieldManager=two", cm, ctype="application/apply-patch+yaml").status, 409)
        dep = deployment("co-dep")
        self.assertEqual(self.c.post(DEP + "?fieldManager=one", dep).status, 201)
        self.assertEqual(self.c.patch(DEP + "/co-dep?fieldManager=two", dep, ctype="application/apply-patch+yaml").status, 200)


class HttpModeTests(unittest.TestCase):
    def test_plain_http(self):
        sim = Sim("--ready-delay", "0.2", http=True).start()
        try:
            self.assertTrue(sim.url.startswith("http://"))
            anon = sim.client(token=None)
            self.assertEqual(anon.get(CL).status, 200)
            self.assertEqual(anon.post(CL, cluster("h-a")).status, 201)
            self.assertEqual(sim.client().get(CL + "/h-a").status, 200)
            self.assertEqual(sim.client(token="wrong").get(CL).status, 401)
            anon.close()
        finally:
            sim.stop()


if __name__ == "__main__":
    unittest.main()
