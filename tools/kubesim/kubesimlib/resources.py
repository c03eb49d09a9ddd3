"""The resource types kubesim serves: discovery data and server-side Table printing."""
from . import events
from .util import human_age

STD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
RO_VERBS = ["get", "list", "watch"]


class Resource:
    def __init__(self, group, version, plural, singular, kind, namespaced=True, short_names=(),
                 categories=(), verbs=STD_VERBS, subresources=(), read_only=False, crd=False,
                 extra_fields=(), delete_status=False, stored=True):
        self.group = group
        self.version = version
        self.plural = plural
        self.singular = singular
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.categories = list(categories)
        self.verbs = list(verbs)
        self.subresources = list(subresources)
        self.read_only = read_only
        self.crd = crd                  # generation, status subresource, no strategic merge patch
        self.extra_fields = tuple(extra_fields)
        self.delete_status = delete_status   # DELETE answers a Status (Success), not the object
        self.stored = stored            # False: served by conversion (a view) or not stored at all
        self.api_version = "%s/%s" % (group, version) if group else version
        self.qualified = "%s.%s" % (plural, group) if group else plural
        self.list_kind = kind + "List"

    @property
    def has_status(self):
        """status is written only through /status: dropped on create, kept on writes of the main resource."""
        return "status" in self.subresources

    def __repr__(self):
        return "<Resource %s>" % self.qualified


RBAC = "rbac.authorization.k8s.io"

NAMESPACES = Resource("", "v1", "namespaces", "namespace", "Namespace", namespaced=False,
                      short_names=["ns"], subresources=["status"])
SECRETS = Resource("", "v1", "secrets", "secret", "Secret", extra_fields=["type"], delete_status=True)
SERVICES = Resource("", "v1", "services", "service", "Service", short_names=["svc"],
                    categories=["all"], subresources=["status"])
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", short_names=["sa"],
                           delete_status=True)
CONFIGMAPS = Resource("", "v1", "configmaps", "configmap", "ConfigMap", short_names=["cm"], delete_status=True)
# Deployments: the simulated operator makes one per Pooler; clients may create their own (stored
# as they are, with an empty status: no pods are simulated for them).
DEPLOYMENTS = Resource("apps", "v1", "deployments", "deployment", "Deployment", short_names=["deploy"],
                       categories=["all"], subresources=["status"])
ROLES = Resource(RBAC, "v1", "roles", "role", "Role", delete_status=True)
ROLEBINDINGS = Resource(RBAC, "v1", "rolebindings", "rolebinding", "RoleBinding", delete_status=True)
CLUSTERROLES = Resource(RBAC, "v1", "clusterroles", "clusterrole", "ClusterRole", namespaced=False,
                        delete_status=True)
CLUSTERROLEBINDINGS = Resource(RBAC, "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding",
                               namespaced=False, delete_status=True)
CLUSTERS = Resource("postgresql.cnpg.io", "v1", "clusters", "cluster", "Cluster",
                    subresources=["status", "scale"], crd=True)
POOLERS = Resource("postgresql.cnpg.io", "v1", "poolers", "pooler", "Pooler",
                   subresources=["status", "scale"], crd=True)
EVENTS = Resource("", "v1", "events", "event", "Event", short_names=["ev"], extra_fields=events.CORE_FIELDS)
# The same stored Events in the events.k8s.io/v1 form (see events.py).
EVENTS_V1 = Resource("events.k8s.io", "v1", "events", "event", "Event",
                     verbs=["create", "delete", "get", "list", "watch"], extra_fields=events.V1_FIELDS,
                     stored=False)
# kubectl auth can-i: answered, never stored.
SELF_SUBJECT_ACCESS_REVIEWS = Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                                       "selfsubjectaccessreview", "SelfSubjectAccessReview", namespaced=False,
                                       verbs=["create"], stored=False)

SERVED = [NAMESPACES, SECRETS, SERVICES, SERVICEACCOUNTS, CONFIGMAPS, EVENTS, DEPLOYMENTS, ROLES, ROLEBINDINGS,
          CLUSTERROLES, CLUSTERROLEBINDINGS, CLUSTERS, POOLERS, EVENTS_V1, SELF_SUBJECT_ACCESS_REVIEWS]
ALL = [r for r in SERVED if r.stored]      # what the store holds
GROUPS = [("", "v1"), ("apps", "v1"), ("events.k8s.io", "v1"), ("authorization.k8s.io", "v1"), (RBAC, "v1"),
          ("postgresql.cnpg.io", "v1")]


def by_gv(group, version):
    return [r for r in SERVED if r.group == group and r.version == version]


def lookup(group, version, plural):
    for r in SERVED:
        if r.group == group and r.version == version and r.plural == plural:
            return r
    return None


# ---------------------------------------------------------------- discovery

def _legacy_resource(r):
    out = [{"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": r.verbs, "storageVersionHash": "ksim" + r.kind}]
    if r.short_names:
        out[0]["shortNames"] = r.short_names
    if r.categories:
        out[0]["categories"] = r.categories
    for sub in r.subresources:
        if sub == "scale":
            out.append({"name": r.plural + "/scale", "singularName": "", "namespaced": r.namespaced,
                        "group": "autoscaling", "version": "v1", "kind": "Scale",
                        "verbs": ["get", "patch", "update"]})
        else:
            out.append({"name": r.plural + "/" + sub, "singularName": "", "namespaced": r.namespaced,
                        "kind": r.kind, "verbs": ["get", "patch", "update"] if not r.read_only else ["get"]})
    return out


def resource_list(group, version):
    res = []
    for r in by_gv(group, version):
        res.extend(_legacy_resource(r))
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "%s/%s" % (group, version) if group else version, "resources": res}


def api_versions(server_address):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group(group):
    gv = {"groupVersion": group + "/v1", "version": "v1"}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv], "preferredVersion": gv}


def api_group_list():
    groups = []
    for g, v in GROUPS:
        if not g:
            continue
        groups.append(api_group(g))
        del groups[-1]["kind"]
        del groups[-1]["apiVersion"]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _agg_resource(r):
    d = {"resource": r.plural,
         "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
         "scope": "Namespaced" if r.namespaced else "Cluster",
         "singularResource": r.singular, "verbs": r.verbs}
    if r.short_names:
        d["shortNames"] = r.short_names
    if r.categories:
        d["categories"] = r.categories
    subs = []
    for sub in r.subresources:
        if sub == "scale":
            subs.append({"subresource": "scale",
                         "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                         "verbs": ["get", "patch", "update"]})
        else:
            subs.append({"subresource": sub,
                         "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                         "verbs": ["get", "patch", "update"] if not r.read_only else ["get"]})
    if subs:
        d["subresources"] = subs
    return d


def aggregated(core, agg_version):
    items = []
    for g, v in GROUPS:
        if (g == "") != core:
            continue
        md = {"creationTimestamp": None}
        if g:
            md["name"] = g
        items.append({"metadata": md, "versions": [
            {"version": v, "freshness": "Current", "resources": [_agg_resource(r) for r in by_gv(g, v)]}]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/" + agg_version,
            "metadata": {}, "items": items}


# ---------------------------------------------------------------- tables

def _col(name, typ, desc, fmt="", priority=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


_NAME = _col("Name", "string", "Name must be unique within a namespace.", "name")
_AGE = _col("Age", "date", "CreationTimestamp is a timestamp representing the server time when this object was created.")


def _g(obj, *path):
    cur = obj
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def _svc_ports(obj):
    ports = _g(obj, "spec", "ports") or []
    parts = []
    for p in ports:
        s = str(p.get("port", ""))
        if p.get("nodePort"):
            s += ":%s" % p["nodePort"]
        parts.append(s + "/" + p.get("protocol", "TCP"))
    return ",".join(parts) or "<none>"


def _svc_external(obj):
    ing = _g(obj, "status", "loadBalancer", "ingress") or []
    ips = [i.get("ip") or i.get("hostname") for i in ing if isinstance(i, dict)]
    ips = [i for i in ips if i]
    if ips:
        return ",".join(ips)
    if _g(obj, "spec", "type") == "LoadBalancer":
        return "<pending>"
    return "<none>"


TABLES = {
    "clusters": ([_NAME, _AGE,
                  _col("Instances", "integer", "Number of instances"),
                  _col("Ready", "integer", "Number of ready instances"),
                  _col("Status", "string", "Cluster current status"),
                  _col("Primary", "string", "Primary pod")],
                 lambda o: [_g(o, "status", "instances"), _g(o, "status", "readyInstances"),
                            _g(o, "status", "phase"), _g(o, "status", "currentPrimary")]),
    "poolers": ([_NAME, _AGE,
                 _col("Cluster", "string", "The cluster the pooler points to"),
                 _col("Type", "string", "Pooler type")],
                lambda o: [_g(o, "spec", "cluster", "name"), _g(o, "spec", "type")]),
    "secrets": ([_NAME, _col("Type", "string", "The type of the secret"),
                 _col("Data", "string", "The number of entries in the secret"), _AGE],
                None),
    "services": ([_NAME, _col("Type", "string", "The type of the service"),
                  _col("Cluster-IP", "string", "The cluster IP"),
                  _col("External-IP", "string", "The external IP"),
                  _col("Port(s)", "string", "The ports"), _AGE,
                  _col("Selector", "string", "The selector", priority=1)],
                 None),
    "deployments": ([_NAME, _col("Ready", "string", "Number of the pod with ready state"),
                     _col("Up-to-date", "string", "Total number of non-terminated pods that have the desired template spec."),
                     _col("Available", "string", "Number of available pods"), _AGE,
                     _col("Containers", "string", "Names of each container in the template.", priority=1),
                     _col("Images", "string", "Images referenced by each container in the template.", priority=1),
                     _col("Selector", "string", "Label selector for pods.", priority=1)],
                    None),
    "namespaces": ([_NAME, _col("Status", "string", "The status of the namespace"), _AGE], None),
    "serviceaccounts": ([_NAME, _col("Secrets", "string", "Secrets is a list of the secrets in the same namespace "
                                     "that pods running using this ServiceAccount are allowed to use."), _AGE],
                        None),
    "configmaps": ([_NAME, _col("Data", "string", "Data contains the configuration data."), _AGE], None),
    "roles": ([_NAME, _col("Created At", "date", "CreationTimestamp is a timestamp representing the server time "
                           "when this object was created.")], None),
    "clusterroles": ([_NAME, _col("Created At", "date", "CreationTimestamp is a timestamp representing the server "
                                  "time when this object was created.")], None),
    "rolebindings": ([_NAME, _col("Role", "string", "RoleRef can reference a Role in the current namespace or a "
                                  "ClusterRole in the global namespace."), _AGE,
                      _col("Users", "string", "Users in the roleBinding", priority=1),
                      _col("Groups", "string", "Groups in the roleBinding", priority=1),
                      _col("ServiceAccounts", "string", "ServiceAccounts in the roleBinding", priority=1)], None),
}
TABLES["clusterrolebindings"] = TABLES["rolebindings"]
TABLES["events"] = ([_col("Last Seen", "string", "Time since the event was last seen"),
                     _col("Type", "string", "The type of the event"),
                     _col("Reason", "string", "The reason of the event"),
                     _col("Object", "string", "The object the event is about"),
                     _col("Message", "string", "A human-readable description of the event"),
                     _col("Subobject", "string", "The field path of the object", priority=1),
                     _col("Source", "string", "The component that reported the event", priority=1),
                     _col("First Seen", "string", "Time since the event was first seen", priority=1),
                     _col("Count", "integer", "How many times the event happened", priority=1),
                     _col("Name", "string", "The name of the event", "name", priority=1)], None)


def _selector_string(sel):
    """A LabelSelector as kubectl prints it (k=v,k in (a,b),...)."""
    if not isinstance(sel, dict):
        return "<none>"
    parts = ["%s=%s" % kv for kv in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        if not isinstance(e, dict):
            continue
        op, vals = e.get("operator"), ",".join(sorted(e.get("values") or []))
        if op == "In":
            parts.append("%s in (%s)" % (e.get("key"), vals))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (e.get("key"), vals))
        elif op == "Exists":
            parts.append(str(e.get("key")))
        elif op == "DoesNotExist":
            parts.append("!%s" % e.get("key"))
    return ",".join(parts) or "<none>"


def _subjects(obj, kind):
    out = []
    for s in obj.get("subjects") or []:
        if isinstance(s, dict) and s.get("kind") == kind:
            out.append("%s/%s" % (s.get("namespace") or "", s.get("name")) if kind == "ServiceAccount"
                       else str(s.get("name")))
    return ", ".join(out)


def table_cells(res, obj):
    md = obj.get("metadata") or {}
    name = md.get("name")
    age = human_age(md.get("creationTimestamp"))
    p = res.plural
    if p in ("clusters", "poolers"):
        return [name, age] + TABLES[p][1](obj)
    if p == "secrets":
        n = len(obj.get("data") or {})
        return [name, obj.get("type", "Opaque"), n, age]
    if p == "services":
        sel = _g(obj, "spec", "selector") or {}
        return [name, _g(obj, "spec", "type") or "ClusterIP", _g(obj, "spec", "clusterIP") or "<none>",
                _svc_external(obj), _svc_ports(obj), age,
                ",".join("%s=%s" % kv for kv in sorted(sel.items())) or "<none>"]
    if p == "deployments":
        want = _g(obj, "spec", "replicas") or 0
        ready = _g(obj, "status", "readyReplicas") or 0
        containers = _g(obj, "spec", "template", "spec", "containers") or []
        containers = [c for c in containers if isinstance(c, dict)]
        return [name, "%d/%d" % (ready, want), _g(obj, "status", "updatedReplicas") or 0,
                _g(obj, "status", "availableReplicas") or 0, age,
                ",".join(str(c.get("name")) for c in containers),
                ",".join(str(c.get("image")) for c in containers),
                _selector_string(_g(obj, "spec", "selector"))]
    if p == "namespaces":
        return [name, _g(obj, "status", "phase") or "Active", age]
    if p == "serviceaccounts":
        return [name, len(obj.get("secrets") or []), age]
    if p == "configmaps":
        return [name, len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), age]
    if p in ("roles", "clusterroles"):
        return [name, md.get("creationTimestamp")]
    if p == "events":
        return events.table_cells(obj if obj.get("apiVersion") == "v1" else events.to_core(obj))
    if p in ("rolebindings", "clusterrolebindings"):
        ref = obj.get("roleRef") or {}
        return [name, "%s/%s" % (ref.get("kind"), ref.get("name")), age, _subjects(obj, "User"),
                _subjects(obj, "Group"), _subjects(obj, "ServiceAccount")]
    return [name, age]


def table_row(res, obj, include="Metadata"):
    row = {"cells": table_cells(res, obj)}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        md = dict(obj.get("metadata") or {})
        md.pop("managedFields", None)
        row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md}
    return row


def table(res, objs, rv, include="Metadata", with_columns=True, cont=None):
    md = {"resourceVersion": rv}
    if cont:
        md["continue"] = cont
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md,
            "columnDefinitions": TABLES[res.plural][0] if with_columns else [],
            "rows": [table_row(res, o, include) for o in objs]}
