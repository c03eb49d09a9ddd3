"""The Kubernetes REST semantics: CRUD, patch, apply, delete, list and the admission/defaulting rules."""
import base64
import json

from . import fieldmgr
from . import resources as R
from . import validation as V
from .operator import FG_FINALIZER, NS_FINALIZER, SLOW_DELETE_FINALIZER, DEFAULT_IMAGE
from .patch import json_patch, merge_patch, strategic_merge_patch
from .selectors import parse_field_selector, parse_label_selector
from .util import ApiError, bad_request, deepcopy_json, not_found, query_bool

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")


def forbidden(res, verb, name, ns, why=None):
    what = '%s "%s"' % (res.qualified, name) if name else res.qualified
    msg = '%s is forbidden: User "kubesim" cannot %s resource "%s" in API group "%s"' % (
        what, verb, res.plural, res.group)
    if ns:
        msg += ' in the namespace "%s"' % ns
    if why:
        msg += ": " + why
    return ApiError(403, "Forbidden", msg, {"name": name or "", "group": res.group, "kind": res.plural})


class Api:
    def __init__(self, store, operator, faults):
        self.store = store
        self.operator = operator
        self.faults = faults

    # ------------------------------------------------------------------ helpers
    def _check_namespace(self, ns, creating=True):
        rec = self.store.get(R.NAMESPACES, "", ns)
        if rec is None:
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                           {"name": ns, "kind": "namespaces"})
        if creating and rec.md.get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", "%s is forbidden: unable to create new content in namespace %s "
                           "because it is being terminated" % ("object", ns),
                           {"name": ns, "kind": "namespaces",
                            "causes": [{"reason": "NamespaceTerminating", "message": "namespace %s is being terminated" % ns,
                                        "field": "metadata.namespace"}]})

    def _check_body(self, res, body, ns, name=None):
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        av = body.get("apiVersion")
        if av is not None and av != res.api_version:
            raise bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                              % (av, res.api_version))
        kind = body.get("kind")
        if kind is not None and kind != res.kind:
            raise bad_request("the kind in the data (%s) does not match the expected kind (%s)" % (kind, res.kind))
        md = body.get("metadata")
        if md is None:
            md = body["metadata"] = {}
        if not isinstance(md, dict):
            raise bad_request("metadata must be an object")
        if res.namespaced:
            bns = md.get("namespace")
            if bns and bns != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if name is not None and md.get("name") and md["name"] != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                              % (md["name"], name))
        if name is not None and not md.get("name"):
            md["name"] = name
        body["apiVersion"] = res.api_version
        body["kind"] = res.kind

    def _field_validation(self, res, obj, params, warnings):
        mode = params.get("fieldValidation") or "Warn"
        if mode not in ("Strict", "Warn", "Ignore"):
            raise bad_request('fieldValidation: Unsupported value: "%s": supported values: "Ignore", "Strict", "Warn"'
                              % mode)
        V.decode_types(res, obj)
        new, warns = V.check_fields(res, obj, mode)
        warnings.extend(warns)
        return new

    @staticmethod
    def _convert(res, obj):
        """What a real server does while decoding a body, before field ownership is recorded:
        a Secret's stringData is merged into data (and never stored)."""
        if res is R.SECRETS:
            sd = obj.pop("stringData", None)
            if sd is not None:
                if not isinstance(sd, dict):
                    raise V_invalid(res, obj["metadata"].get("name", ""), "stringData", sd, "must be a map")
                data = dict(obj.get("data") or {})
                for k, v in sd.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
                obj["data"] = data

    def _default(self, res, obj, old):
        """The API server's (and CNPG's webhook's) defaults for obj; old is the stored object."""
        md = obj["metadata"]
        if res is R.SECRETS:
            self._convert(res, obj)
            obj.setdefault("type", old.get("type", "Opaque") if old else "Opaque")
        elif res is R.DEPLOYMENTS:
            obj["status"] = (old or {}).get("status") or {}
            _default_deployment(obj.get("spec"))
        elif res in (R.ROLEBINDINGS, R.CLUSTERROLEBINDINGS):
            ref = obj.get("roleRef")
            if isinstance(ref, dict) and not ref.get("apiGroup"):
                ref["apiGroup"] = R.RBAC
            for sub in obj.get("subjects") or []:
                if isinstance(sub, dict) and not sub.get("apiGroup") and sub.get("kind") in ("User", "Group"):
                    sub["apiGroup"] = R.RBAC
        elif res is R.SERVICES:
            self._default_service(obj, old)
        elif res is R.NAMESPACES:
            obj["status"] = (old or {}).get("status") or {"phase": "Active"}
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
        elif res is R.CLUSTERS and old is None:
            _default_cluster(obj.get("spec"))
        elif res is R.POOLERS and old is None:
            spec = obj.get("spec")
            if isinstance(spec, dict):
                spec.setdefault("type", "rw")
                spec.setdefault("instances", 1)
                if isinstance(spec.get("pgbouncer"), dict):
                    spec["pgbouncer"].setdefault("poolMode", "session")

    def _default_service(self, obj, old):
        """type, sessionAffinity, an allocated (and immutable) clusterIP, port protocol/targetPort."""
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            ocip = ((old or {}).get("spec") or {}).get("clusterIP")
            if ocip and spec.get("clusterIP") in (None, ""):
                spec["clusterIP"] = ocip
            elif ocip and spec.get("clusterIP") != ocip:
                raise V_invalid(R.SERVICES, obj["metadata"].get("name", ""), "spec.clusterIP", spec.get("clusterIP"),
                                "field is immutable")
            if not spec.get("clusterIP") and spec["type"] != "ExternalName":
                spec["clusterIP"] = self.operator.next_cluster_ip()
            if spec.get("clusterIP") and spec["clusterIP"] != "None":
                spec["clusterIPs"] = [spec["clusterIP"]]
            for p in spec.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
                    if "port" in p:
                        p.setdefault("targetPort", p["port"])
        obj.setdefault("status", (old or {}).get("status") or {"loadBalancer": {}})

    def _cluster_names(self, ns):
        """The Cluster names of ns, as a container whose `in` is one index lookup."""
        store = self.store

        class Names:
            def __contains__(self, name):
                return store.get(R.CLUSTERS, ns, name) is not None
        return Names()

    def _validate(self, res, obj, old):
        names = self._cluster_names(obj["metadata"].get("namespace")) if res is R.POOLERS and old is None else ()
        V.validate(res, obj, old, names)

    @staticmethod
    def _manager(params, ua):
        m = params.get("fieldManager")
        if m:
            return m
        return (ua or "unknown").split("/")[0] or "unknown"

    # ------------------------------------------------------------------ reads
    def get(self, res, ns, name):
        rec = self.store.get(res, ns, name)
        if rec is None:
            raise not_found(res, name)
        return rec

    def list(self, res, ns, params):
        lsel = parse_label_selector(params.get("labelSelector"))
        fsel = parse_field_selector(params.get("fieldSelector"), res)
        rv, start = self.store.current_rv(), None
        cont = params.get("continue")
        if cont:
            try:
                tok = json.loads(base64.urlsafe_b64decode(cont.encode() + b"==").decode())
                start = (tok["ns"], tok["name"])
                rv = int(tok["rv"])
            except Exception:
                raise bad_request("continue key is not valid")
        try:
            limit = max(0, int(params.get("limit") or 0))
        except ValueError:
            raise bad_request("limit must be an integer")
        recs, more, remaining = self.store.list_page(res, ns, lsel, fsel, start, limit)
        next_tok = None
        if more:
            last = recs[-1].md
            next_tok = base64.urlsafe_b64encode(json.dumps(
                {"rv": rv, "ns": last.get("namespace") or "", "name": last["name"]}).encode()).decode().rstrip("=")
        return recs, rv, next_tok, remaining

    def scale(self, rec):
        obj = rec.obj
        name = obj["metadata"]["name"]
        sel = "cnpg.io/cluster=%s,cnpg.io/podRole=instance" % name if obj["kind"] == "Cluster" else \
            "cnpg.io/poolerName=%s" % name
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": name, "namespace": obj["metadata"].get("namespace"),
                             "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"],
                             "creationTimestamp": obj["metadata"]["creationTimestamp"]},
                "spec": {"replicas": (obj.get("spec") or {}).get("instances", 1)},
                "status": {"replicas": (obj.get("status") or {}).get("instances", 0), "selector": sel}}

    # ------------------------------------------------------------------ create
    def create(self, res, ns, body, params, ua, warnings):
        if res.read_only:
            raise forbidden(res, "create", None, ns)
        self._check_body(res, body, ns)
        if res.namespaced:
            self._check_namespace(ns)
        md = body["metadata"]
        if not md.get("name"):
            if md.get("generateName"):
                from .util import random_suffix
                md["name"] = md["generateName"] + random_suffix()
            else:
                raise ApiError(422, "Invalid", '%s "" is invalid: metadata.name: Required value: name or '
                               'generateName is required' % res.kind,
                               {"group": res.group, "kind": res.kind,
                                "causes": [{"reason": "FieldValueRequired",
                                            "message": "Required value: name or generateName is required",
                                            "field": "metadata.name"}]})
        for k in ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "selfLink"):
            md.pop(k, None)
        obj = self._field_validation(res, body, params, warnings)
        if res.has_status:
            obj.pop("status", None)
        obj["metadata"].pop("managedFields", None)
        self._convert(res, obj)
        owned = deepcopy_json(obj)     # server-side defaults are not owned by the client
        fieldmgr.record_update(None, owned, self._manager(params, ua), "", res.api_version)
        self._default(res, obj, None)
        self._validate(res, obj, None)
        if "managedFields" in owned["metadata"]:
            obj["metadata"]["managedFields"] = owned["metadata"]["managedFields"]
        return self.store.create(res, obj, dry_run=params.get("dryRun") == "All")

    # ------------------------------------------------------------------ update (PUT)
    def update(self, res, ns, name, sub, body, params, ua, warnings):
        if res.read_only:
            raise forbidden(res, "update", name, ns)
        cur = self.get(res, ns, name)
        if sub == "scale":
            return self._update_scale(res, ns, name, cur, body, params, ua)
        self._check_body(res, body, ns, name)
        rv = body["metadata"].get("resourceVersion")
        if not rv and res.crd:
            raise ApiError(422, "Invalid", '%s.%s "%s" is invalid: metadata.resourceVersion: Invalid value: 0x0: '
                           'must be specified for an update' % (res.kind, res.group, name),
                           {"name": name, "group": res.group, "kind": res.kind,
                            "causes": [{"reason": "FieldValueInvalid",
                                        "message": "Invalid value: 0x0: must be specified for an update",
                                        "field": "metadata.resourceVersion"}]})
        if sub == "status":
            new = deepcopy_json(cur.obj)
            new["status"] = body.get("status")
            if new["status"] is None:
                new.pop("status")
        else:
            new = self._field_validation(res, body, params, warnings)
            if res.has_status:
                if "status" in cur.obj:
                    new["status"] = deepcopy_json(cur.obj["status"])
                else:
                    new.pop("status", None)
            self._default(res, new, cur.obj)
            self._validate(res, new, cur.obj)
        return self._commit(res, ns, name, cur, new, rv or None, params, ua, sub)

    def _commit(self, res, ns, name, cur, new, expect_rv, params, ua, sub, record=True):
        mgr = self._manager(params, ua)

        def on_change(old_obj, new_obj):
            if record:
                fieldmgr.record_update(old_obj, new_obj, mgr, sub or "", res.api_version)
        rec = self.store.update(res, ns, name, new, expect_rv=expect_rv, dry_run=params.get("dryRun") == "All",
                                on_change=on_change)
        return rec

    def _update_scale(self, res, ns, name, cur, body, params, ua):
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        replicas = (body.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise V_invalid(res, name, "spec.replicas", replicas, "must be greater than or equal to 0")
        rv = (body.get("metadata") or {}).get("resourceVersion") or None
        new = deepcopy_json(cur.obj)
        new.setdefault("spec", {})["instances"] = replicas
        self._validate(res, new, cur.obj)
        return self._commit(res, ns, name, cur, new, rv, params, ua, "")

    # ------------------------------------------------------------------ patch
    def patch(self, res, ns, name, sub, ctype, raw, params, ua, warnings):
        """Returns (rec, created)."""
        if res.read_only:
            raise forbidden(res, "patch", name, ns)
        ctype = (ctype or "").split(";")[0].strip().lower()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError) as e:
            if ctype == "application/apply-patch+yaml":
                raise ApiError(415, "UnsupportedMediaType", "kubesim accepts server-side apply bodies in JSON only "
                               "(JSON is valid YAML): %s" % e)
            raise bad_request("error decoding patch: %s" % e)
        if ctype == "application/apply-patch+yaml":
            return self._apply(res, ns, name, sub, body, params, ua, warnings)
        cur = self.get(res, ns, name)
        base = cur.obj
        if sub == "scale":
            base = self.scale(cur)
        if ctype == "application/json-patch+json":
            new = json_patch(base, body)
        elif ctype == "application/merge-patch+json":
            if not isinstance(body, dict):
                raise bad_request("merge patch body must be a JSON object")
            new = merge_patch(deepcopy_json(base), body)
        elif ctype == "application/strategic-merge-patch+json":
            if res.crd:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/apply-patch+yaml")
            if not isinstance(body, dict):
                raise bad_request("strategic merge patch body must be a JSON object")
            new = strategic_merge_patch(deepcopy_json(base), body)
        else:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, application/merge-patch+json, "
                           "application/apply-patch+yaml" + ("" if res.crd else ", application/strategic-merge-patch+json"))
        if not isinstance(new, dict):
            raise bad_request("the patched object must be a JSON object")
        if sub == "scale":
            return self._update_scale(res, ns, name, cur, new, params, ua), False
        md = new.get("metadata") if isinstance(new.get("metadata"), dict) else {}
        new_rv = md.get("resourceVersion")
        if new_rv is not None and str(new_rv) != cur.md["resourceVersion"]:
            from .util import conflict
            raise conflict(res, name)
        self._check_body(res, new, ns, name)
        if sub == "status":
            st = new.get("status")
            new = deepcopy_json(cur.obj)
            if st is None:
                new.pop("status", None)
            else:
                new["status"] = st
        else:
            new = self._field_validation(res, new, params, warnings)
            if res.has_status:
                if "status" in cur.obj:
                    new["status"] = deepcopy_json(cur.obj["status"])
                else:
                    new.pop("status", None)
            self._default(res, new, cur.obj)
            self._validate(res, new, cur.obj)
        return self._commit(res, ns, name, cur, new, None, params, ua, sub), False

    def _apply(self, res, ns, name, sub, body, params, ua, warnings):
        mgr = params.get("fieldManager")
        if not mgr:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                           'is required for apply patch',
                           {"group": "meta.k8s.io", "kind": "PatchOptions",
                            "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for "
                                        "apply patch", "field": "fieldManager"}]})
        if sub == "scale":
            raise ApiError(415, "UnsupportedMediaType", "apply is not supported on the scale subresource by kubesim")
        if not isinstance(body, dict):
            raise bad_request("the apply configuration must be a JSON object")
        if not body.get("apiVersion") or not body.get("kind"):
            raise bad_request("invalid object type: apiVersion and kind are required for apply")
        self._check_body(res, body, ns, name)
        force = query_bool(params, "force")
        dry = params.get("dryRun") == "All"
        body = self._field_validation(res, body, params, warnings)
        cur = self.store.get(res, ns, name)
        if cur is None:
            if sub:
                raise not_found(res, name)
            new = fieldmgr.apply(None, body, mgr, force, "", res.api_version, res, name)
            return self._create_applied(res, ns, new, dry), True
        new = fieldmgr.apply(cur.obj, body, mgr, force, sub or "", res.api_version, res, name)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and str(rv) != cur.md["resourceVersion"]:
            from .util import conflict
            raise conflict(res, name)
        if sub != "status":
            if res.has_status:
                if "status" in cur.obj:
                    new["status"] = deepcopy_json(cur.obj["status"])
                else:
                    new.pop("status", None)
            self._default(res, new, cur.obj)
            self._validate(res, new, cur.obj)
        rec = self.store.update(res, ns, name, new, dry_run=dry)
        return rec, False

    def _create_applied(self, res, ns, obj, dry):
        if res.namespaced:
            self._check_namespace(ns)
        md = obj["metadata"]
        for k in ("uid", "resourceVersion", "creationTimestamp", "generation"):
            md.pop(k, None)
        if res.has_status:
            obj.pop("status", None)
        self._default(res, obj, None)
        self._validate(res, obj, None)
        return self.store.create(res, obj, dry_run=dry)

    # ------------------------------------------------------------------ delete
    def delete(self, res, ns, name, opts, params):
        """Returns (rec, gone)."""
        if res.read_only:
            raise forbidden(res, "delete", name, ns)
        if res is R.NAMESPACES and name in PROTECTED_NAMESPACES:
            raise ApiError(403, "Forbidden", 'namespaces "%s" is forbidden: this namespace may not be deleted' % name,
                           {"name": name, "kind": "namespaces"})
        opts = opts if isinstance(opts, dict) else {}
        cur = self.get(res, ns, name)
        dry = params.get("dryRun") == "All" or opts.get("dryRun") == ["All"]
        policy = opts.get("propagationPolicy") or params.get("propagationPolicy") or "Background"
        if opts.get("orphanDependents") is True:
            policy = "Orphan"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise bad_request('propagationPolicy: Unsupported value: "%s"' % policy)
        pre = opts.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != cur.md.get("uid") or \
                pre.get("resourceVersion") and str(pre["resourceVersion"]) != cur.md.get("resourceVersion"):
            self.store.delete(res, ns, name, preconditions=pre, dry_run=True)
        extra = []
        uid = cur.md["uid"]
        if res is R.NAMESPACES:
            extra.append(NS_FINALIZER)
        if policy == "Foreground" and self.store.dependents(uid):
            extra.append(FG_FINALIZER)
        slow = self.faults.slow_delete_seconds
        if slow > 0 and res in (R.CLUSTERS, R.POOLERS) and not cur.md.get("deletionTimestamp"):
            extra.append(SLOW_DELETE_FINALIZER)
        if dry:
            return cur, False
        if policy == "Orphan":
            for plural, dns, dname in self.store.dependents(uid):
                dres = next(r for r in R.ALL if r.plural == plural)
                self.store.mutate(dres, dns, dname, lambda o: o["metadata"].__setitem__(
                    "ownerReferences", [r for r in o["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]))
        if res is R.NAMESPACES:
            self.store.mutate(res, "", name, lambda o: o.setdefault("status", {}).__setitem__("phase", "Terminating"))
        rec, gone = self.store.delete(res, ns, name, preconditions=pre, extra_finalizers=extra)
        if SLOW_DELETE_FINALIZER in extra and not gone:
            self.operator.remove_finalizer_later(res, ns, name, uid, SLOW_DELETE_FINALIZER, slow)
        return rec, gone

    def delete_collection(self, res, ns, params, opts):
        recs, rv, _, _ = self.list(res, ns, {k: v for k, v in params.items() if k in ("labelSelector", "fieldSelector")})
        out = []
        for r in recs:
            try:
                rec, _ = self.delete(res, ns if res.namespaced else "", r.md["name"], opts, params)
                out.append(rec)
            except ApiError:
                pass
        return out


def V_invalid(res, name, field, value, msg):
    from .util import invalid
    return invalid(res, name, [V.inv(field, value, msg)])


def _dflt(d, k, v):
    """Sets d[k] = v when unset; a JSON null is "not set", as for the real server's pointer fields."""
    if d.get(k) is None:
        d[k] = v
    return d[k]


def _default_deployment(spec):
    if not isinstance(spec, dict):
        return
    _dflt(spec, "replicas", 1)
    _dflt(spec, "revisionHistoryLimit", 10)
    _dflt(spec, "progressDeadlineSeconds", 600)
    st = _dflt(spec, "strategy", {})
    if isinstance(st, dict) and _dflt(st, "type", "RollingUpdate") == "RollingUpdate":
        ru = _dflt(st, "rollingUpdate", {})
        if isinstance(ru, dict):
            _dflt(ru, "maxUnavailable", "25%")
            _dflt(ru, "maxSurge", "25%")
    pspec = (spec.get("template") or {}).get("spec") if isinstance(spec.get("template"), dict) else None
    if isinstance(pspec, dict):
        _dflt(pspec, "restartPolicy", "Always")
        _dflt(pspec, "dnsPolicy", "ClusterFirst")
        _dflt(pspec, "schedulerName", "default-scheduler")
        _dflt(pspec, "terminationGracePeriodSeconds", 30)


def _default_cluster(spec):
    """CNPG's defaults on create: instances, imageName, and an initdb bootstrap of app/app."""
    if not isinstance(spec, dict):
        return
    spec.setdefault("instances", 1)
    if spec.get("imageCatalogRef") is None:
        spec.setdefault("imageName", DEFAULT_IMAGE)
    boot = spec.get("bootstrap")
    if not isinstance(boot, dict) or not any(boot.get(k) is not None for k in ("initdb", "recovery", "pg_basebackup")):
        boot = spec["bootstrap"] = dict(boot or {}, initdb={})
    initdb = boot.get("initdb")
    if isinstance(initdb, dict):
        initdb.setdefault("database", "app")
        initdb.setdefault("owner", initdb["database"])
