"""Validation as the API server (names, schema, strict fields) and CNPG's webhooks would do it."""
import base64
import re

from . import resources as R
from .util import ApiError, invalid

DNS1123_SUB = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QUANTITY = re.compile(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

MSG_SUB = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
           "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
           "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
MSG_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
MSG_1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
            "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
            "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")

FV_INVALID = "FieldValueInvalid"
FV_REQUIRED = "FieldValueRequired"
FV_NOTSUP = "FieldValueNotSupported"
FV_TOOLONG = "FieldValueTooLong"
FV_FORBIDDEN = "FieldValueForbidden"


def _q(v):
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def inv(field, value, msg):
    return (field, "Invalid value: %s: %s" % (_q(value), msg), FV_INVALID)


def req(field):
    return (field, "Required value", FV_REQUIRED)


def name_errors(kind, name):
    """kind: 'subdomain', 'label' or '1035'."""
    errs = []
    if kind == "subdomain":
        if len(name) > 253:
            errs.append(inv("metadata.name", name, "must be no more than 253 characters"))
        if not DNS1123_SUB.match(name):
            errs.append(inv("metadata.name", name, MSG_SUB))
    else:
        if len(name) > 63:
            errs.append(inv("metadata.name", name, "must be no more than 63 characters"))
        rx, msg = (DNS1123_LABEL, MSG_LABEL) if kind == "label" else (DNS1035_LABEL, MSG_1035)
        if not rx.match(name):
            errs.append(inv("metadata.name", name, msg))
    return errs


# ------------------------------------------------------------------ strict schema
# A known-field tree: dict = object with these keys; ANY = anything below; ("map", sub) = map with
# free keys; ("list", sub) = list of sub.
ANY = "any"
STR_MAP = ("map", ANY)

OWNER_REF = {"apiVersion": ANY, "kind": ANY, "name": ANY, "uid": ANY, "controller": ANY,
             "blockOwnerDeletion": ANY}
METADATA = {"name": ANY, "generateName": ANY, "namespace": ANY, "selfLink": ANY, "uid": ANY,
            "resourceVersion": ANY, "generation": ANY, "creationTimestamp": ANY,
            "deletionTimestamp": ANY, "deletionGracePeriodSeconds": ANY, "labels": STR_MAP,
            "annotations": STR_MAP, "ownerReferences": ("list", OWNER_REF), "finalizers": ANY,
            "managedFields": ANY}

STORAGE = {"pvcTemplate": ANY, "resizeInUseVolumes": ANY, "size": ANY, "storageClass": ANY}
CLUSTER_SPEC = {k: ANY for k in [
    "affinity", "backup", "certificates", "description", "enablePDB", "enableSuperuserAccess", "env",
    "envFrom", "ephemeralVolumeSource", "ephemeralVolumesSizeLimit", "externalClusters",
    "failoverDelay", "imageName", "imagePullPolicy", "imagePullSecrets", "instances",
    "livenessProbeTimeout", "logLevel", "managed", "maxSyncReplicas", "minSyncReplicas", "monitoring",
    "nodeMaintenanceWindow", "plugins", "podSecurityContext", "podSelectorRefs", "postgresGID",
    "postgresUID", "primaryLease", "primaryUpdateMethod", "primaryUpdateStrategy", "priorityClassName",
    "probes", "projectedVolumeTemplate", "replica", "replicationSlots", "resources", "schedulerName",
    "seccompProfile", "securityContext", "serviceAccountName", "serviceAccountTemplate",
    "smartShutdownTimeout", "startDelay", "stopDelay", "superuserSecret", "switchoverDelay",
    "tablespaces", "topologySpreadConstraints"]}
CLUSTER_SPEC.update({
    "storage": STORAGE, "walStorage": STORAGE,
    "imageCatalogRef": {"apiGroup": ANY, "kind": ANY, "major": ANY, "name": ANY},
    "inheritedMetadata": {"labels": STR_MAP, "annotations": STR_MAP},
    "bootstrap": {"initdb": {k: ANY for k in [
        "builtinLocale", "dataChecksums", "database", "encoding", "icuLocale", "icuRules", "import",
        "locale", "localeCType", "localeCollate", "localeProvider", "options", "owner",
        "postInitApplicationSQL", "postInitApplicationSQLRefs", "postInitSQL", "postInitSQLRefs",
        "postInitTemplateSQL", "postInitTemplateSQLRefs", "secret", "walSegmentSize"]},
        "pg_basebackup": ANY, "recovery": ANY},
    "postgresql": {k: ANY for k in [
        "enableAlterSystem", "extensions", "ldap", "parameters", "pg_hba", "pg_ident", "promotionTimeout",
        "shared_preload_libraries", "syncReplicaElectionConstraint", "synchronous"]},
})
POOLER_SPEC = {"cluster": {"name": ANY}, "deploymentStrategy": ANY, "instances": ANY, "monitoring": ANY,
               "pgbouncer": {k: ANY for k in [
                   "authQuery", "authQuerySecret", "clientCASecret", "clientTLSSecret", "image",
                   "imageCatalogRef", "parameters", "paused", "pg_hba", "poolMode", "serverCASecret",
                   "serverTLSSecret"]},
               "serviceAccountName": ANY, "serviceTemplate": ANY, "template": ANY, "type": ANY}
SERVICE_PORT = {"name": ANY, "protocol": ANY, "port": ANY, "targetPort": ANY, "nodePort": ANY,
                "appProtocol": ANY}
SCHEMAS = {
    "clusters": {"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "spec": CLUSTER_SPEC, "status": ANY},
    "poolers": {"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "spec": POOLER_SPEC, "status": ANY},
    "secrets": {"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "data": STR_MAP, "stringData": STR_MAP,
                "type": ANY, "immutable": ANY},
    "services": {"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "status": ANY,
                 "spec": {k: ANY for k in [
                     "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity",
                     "loadBalancerIP", "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
                     "healthCheckNodePort", "publishNotReadyAddresses", "sessionAffinityConfig",
                     "ipFamilies", "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass",
                     "internalTrafficPolicy", "trafficDistribution"]} | {"ports": ("list", SERVICE_PORT)}},
    "namespaces": {"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "spec": ANY, "status": ANY},
    "deployments": {"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "spec": ANY, "status": ANY},
}


def unknown_fields(schema, obj, path=""):
    """Returns a list of dotted paths of fields the schema does not know."""
    out = []
    if schema == ANY or obj is None:
        return out
    if isinstance(schema, tuple):
        kind, sub = schema
        if kind == "map" and isinstance(obj, dict):
            for k, v in obj.items():
                out.extend(unknown_fields(sub, v, "%s.%s" % (path, k) if path else k))
        elif kind == "list" and isinstance(obj, list):
            for i, v in enumerate(obj):
                out.extend(unknown_fields(sub, v, "%s[%d]" % (path, i)))
        return out
    if isinstance(schema, dict) and isinstance(obj, dict):
        for k, v in obj.items():
            p = "%s.%s" % (path, k) if path else k
            if k not in schema:
                out.append(p)
            else:
                out.extend(unknown_fields(schema[k], v, p))
    return out


def prune_unknown(schema, obj):
    if schema == ANY or obj is None:
        return obj
    if isinstance(schema, tuple):
        kind, sub = schema
        if kind == "map" and isinstance(obj, dict):
            return {k: prune_unknown(sub, v) for k, v in obj.items()}
        if kind == "list" and isinstance(obj, list):
            return [prune_unknown(sub, v) for v in obj]
        return obj
    if isinstance(schema, dict) and isinstance(obj, dict):
        return {k: prune_unknown(schema[k], v) for k, v in obj.items() if k in schema}
    return obj


def check_fields(res, obj, mode):
    """mode: Strict, Warn or Ignore. Returns (obj, warnings). Strict raises 400 on unknown fields."""
    schema = SCHEMAS.get(res.plural)
    if schema is None or mode == "Ignore":
        return (prune_unknown(schema, obj) if schema else obj), []
    unknown = unknown_fields(schema, obj)
    if not unknown:
        return obj, []
    if mode == "Strict":
        if len(unknown) == 1:
            detail = 'unknown field "%s"' % unknown[0]
        else:
            detail = "[" + ", ".join('unknown field "%s"' % u for u in unknown) + "]"
        raise ApiError(400, "BadRequest", '%s in version "%s" cannot be handled as a %s: strict decoding error: %s'
                       % (res.kind, res.version, res.kind, detail))
    return prune_unknown(schema, obj), ['unknown field "%s"' % u for u in unknown]


# ------------------------------------------------------------------ metadata

def check_metadata(res, obj, errs):
    md = obj.get("metadata")
    if not isinstance(md, dict):
        errs.append(req("metadata"))
        return
    for key in ("labels", "annotations"):
        m = md.get(key)
        if m is None:
            continue
        if not isinstance(m, dict):
            errs.append(inv("metadata." + key, m, "must be a map"))
            continue
        for k, v in m.items():
            if not isinstance(v, str):
                errs.append(inv("metadata.%s.%s" % (key, k), v, "must be a string"))
            elif key == "labels":
                from .selectors import valid_label_key, valid_label_value
                if not valid_label_key(k):
                    errs.append(inv("metadata.labels", k, "name part must consist of alphanumeric characters, "
                                    "'-', '_' or '.', and must start and end with an alphanumeric character"))
                if not valid_label_value(v):
                    errs.append(inv("metadata.labels", v, "a valid label must be an empty string or consist of "
                                    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                    "alphanumeric character"))
    refs = md.get("ownerReferences")
    if refs is not None:
        if not isinstance(refs, list):
            errs.append(inv("metadata.ownerReferences", refs, "must be a list"))
        else:
            for i, r in enumerate(refs):
                for k in ("apiVersion", "kind", "name", "uid"):
                    if not isinstance(r, dict) or not r.get(k):
                        errs.append(req("metadata.ownerReferences[%d].%s" % (i, k)))


# ------------------------------------------------------------------ CNPG rules

POOLER_PARAMS = set("""application_name_add_host auth_type autodb_idle_timeout cancel_wait_timeout
client_idle_timeout client_login_timeout client_tls_ciphers client_tls_sslmode client_tls13_ciphers
default_pool_size disable_pqexec dns_max_ttl dns_nxdomain_ttl idle_transaction_timeout
ignore_startup_parameters listen_backlog log_connections log_disconnections log_pooler_errors log_stats
max_client_conn max_db_connections max_packet_size max_prepared_statements max_user_connections
min_pool_size pkt_buf query_timeout query_wait_timeout reserve_pool_size reserve_pool_timeout
sbuf_loopcnt server_check_delay server_check_query server_connect_timeout server_fast_close
server_idle_timeout server_lifetime server_login_retry server_reset_query server_reset_query_always
server_round_robin server_tls_ciphers server_tls13_ciphers server_tls_protocols server_tls_sslmode
stats_period suspend_timeout tcp_defer_accept tcp_socket_buffer tcp_keepalive tcp_keepcnt tcp_keepidle
tcp_keepintvl tcp_user_timeout track_extra_parameters verbose""".split())

_TAG_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


def _image_errors(image, errs):
    f = "spec.imageName"
    ref = image
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    last = ref.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    if tag is None:
        if digest:
            errs.append(inv(f, image, "Can't use just the image sha as we can't detect upstream version"))
        else:
            errs.append(inv(f, image, "Can't use 'latest' as image tag as we can't detect upgrades"))
        return
    if tag == "latest":
        errs.append(inv(f, image, "Can't use 'latest' as image tag as we can't detect upgrades"))
        return
    m = _TAG_VERSION.match(tag)
    if not m:
        errs.append(inv(f, image, "invalid version tag"))
        return
    major = int(m.group(1))
    if m.group(2) is not None and int(m.group(2)) >= 100:
        errs.append(inv(f, image, "invalid version tag"))
        return
    if major < 13:
        errs.append(inv(f, image, "Unsupported PostgreSQL version. Versions 13 or newer are supported"))


def _int_field(spec, key, field, minimum, errs):
    v = spec.get(key)
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int):
        errs.append(inv(field, v, "%s in body must be of type integer: \"%s\"" % (
            field, type(v).__name__.replace("str", "string").replace("float", "number"))))
    elif v < minimum:
        errs.append(inv(field, v, "%s in body should be greater than or equal to %d" % (field, minimum)))


def validate_cluster(obj, old, errs, webhook):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.append(req("spec"))
        return
    _int_field(spec, "instances", "spec.instances", 1, errs)
    storage = spec.get("storage")
    size = None
    if isinstance(storage, dict):
        size = storage.get("size")
        if size is None:
            size = (((storage.get("pvcTemplate") or {}).get("resources") or {}).get("requests") or {}).get("storage")
    if size is None or size == "":
        webhook.append(("spec.storage.size", "Required value: Size not configured. Please add it, or a storage "
                        "request in the template.", FV_REQUIRED))
    elif not isinstance(size, str) or not QUANTITY.match(size):
        errs.append(inv("spec.storage.size", size, "must be a valid quantity (e.g. '1Gi')"))
    img = spec.get("imageName")
    if img is not None and spec.get("imageCatalogRef") is not None:
        errs.append(("spec", "Invalid value: \"object\": imageName and imageCatalogRef are mutually exclusive",
                     FV_INVALID))
    if img is not None:
        if not isinstance(img, str):
            errs.append(inv("spec.imageName", img, "must be a string"))
        else:
            _image_errors(img, webhook)
    boot = spec.get("bootstrap")
    if isinstance(boot, dict):
        methods = [k for k in ("initdb", "recovery", "pg_basebackup") if boot.get(k) is not None]
        if len(methods) > 1:
            webhook.append(("spec.bootstrap", "Invalid value: \"object\": Only one bootstrap method can be "
                            "specified at a time", FV_INVALID))
        initdb = boot.get("initdb")
        if isinstance(initdb, dict):
            for k in ("database", "owner"):
                v = initdb.get(k)
                if v is not None and (not isinstance(v, str) or not v):
                    errs.append(inv("spec.bootstrap.initdb." + k, v, "must be a non-empty string"))
    pg = spec.get("postgresql")
    if isinstance(pg, dict) and isinstance(pg.get("parameters"), dict):
        for k, v in pg["parameters"].items():
            f = "spec.postgresql.parameters." + k
            if not isinstance(v, str):
                errs.append(inv(f, type(v).__name__.replace("int", "integer").replace("bool", "boolean"),
                                "%s in body must be of type string: \"%s\"" % (
                                    f, type(v).__name__.replace("int", "integer").replace("bool", "boolean"))))
            if not _PARAM_NAME.match(k):
                webhook.append(inv("spec.postgresql.parameters", k, "invalid parameter name"))
    if old is not None:
        osize = ((old.get("spec") or {}).get("storage") or {}).get("size")
        if isinstance(osize, str) and isinstance(size, str) and _bytes(size) is not None and \
                _bytes(osize) is not None and _bytes(size) < _bytes(osize):
            webhook.append(inv("spec.storage.size", size, "can't shrink existing storage from %s to %s" % (osize, size)))


_UNITS = {"Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4, "Pi": 1024 ** 5, "Ei": 1024 ** 6,
          "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "m": 1e-3, "": 1}


def _bytes(q):
    m = re.match(r"^([0-9.]+)([A-Za-z]*)$", q)
    if not m or m.group(2) not in _UNITS:
        return None
    try:
        return float(m.group(1)) * _UNITS[m.group(2)]
    except ValueError:
        return None


def validate_pooler(obj, old, errs, webhook, cluster_names):
    spec = obj.get("spec")
    name = (obj.get("metadata") or {}).get("name", "")
    if not isinstance(spec, dict):
        errs.append(req("spec"))
        return
    cl = spec.get("cluster")
    cname = cl.get("name") if isinstance(cl, dict) else None
    if not cname:
        errs.append(req("spec.cluster.name"))
    if spec.get("pgbouncer") is None:
        errs.append(req("spec.pgbouncer"))
    t = spec.get("type")
    if t is not None and t not in ("rw", "ro", "r"):
        errs.append(("spec.type", 'Unsupported value: %s: supported values: "rw", "ro", "r"' % _q(t), FV_NOTSUP))
    _int_field(spec, "instances", "spec.instances", 0, errs)
    pgb = spec.get("pgbouncer")
    if isinstance(pgb, dict):
        pm = pgb.get("poolMode")
        if pm is not None and pm not in ("session", "transaction"):
            errs.append(("spec.pgbouncer.poolMode", 'Unsupported value: %s: supported values: "session", "transaction"'
                         % _q(pm), FV_NOTSUP))
        params = pgb.get("parameters")
        if isinstance(params, dict):
            for k, v in params.items():
                if not isinstance(v, str):
                    errs.append(inv("spec.pgbouncer.parameters." + k, v, "must be of type string"))
                if k not in POOLER_PARAMS:
                    webhook.append(inv("spec.pgbouncer.parameters", k, "Invalid or reserved parameter"))
        if (pgb.get("authQuery") is None) != (pgb.get("authQuerySecret") is None):
            webhook.append(("spec.pgbouncer", "Invalid value: \"object\": authQuery and authQuerySecret must be "
                            "set together", FV_INVALID))
    if old is not None:
        ocl = ((old.get("spec") or {}).get("cluster") or {}).get("name")
        if ocl != cname:
            errs.append(inv("spec.cluster", {"name": cname}, "cluster reference is immutable after creation"))
    else:
        if name in cluster_names:
            webhook.append(inv("metadata.name", name, "the pooler resource cannot have the same name of a cluster"))
        if cname and name in ("%s-rw" % cname, "%s-ro" % cname, "%s-r" % cname, "%s-any" % cname):
            webhook.append(inv("metadata.name", name, "the pooler name must not be the name of a service of "
                               "cluster %s (CNPG would never reconcile it; kubesim rejects it)" % cname))


def validate_secret(obj, errs):
    data = obj.get("data")
    if data is not None:
        if not isinstance(data, dict):
            errs.append(inv("data", data, "must be a map"))
        else:
            for k, v in data.items():
                if not SECRET_KEY.match(k):
                    errs.append(inv("data[%s]" % k, k, "a valid config key must consist of alphanumeric "
                                    "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                                    "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"))
                if not isinstance(v, str):
                    errs.append(inv("data[%s]" % k, v, "must be a base64 string"))
                else:
                    try:
                        base64.b64decode(v, validate=True)
                    except Exception:
                        errs.append(inv("data[%s]" % k, "<secret contents redacted>", "illegal base64 data"))
    t = obj.get("type", "Opaque")
    if t == "kubernetes.io/basic-auth" and data is not None and not ({"username", "password"} & set(data)):
        errs.append(req("data[username]"))


def validate_service(obj, errs):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.append(req("spec"))
        return
    t = spec.get("type", "ClusterIP")
    if t not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        errs.append(("spec.type", 'Unsupported value: %s: supported values: "ClusterIP", "ExternalName", '
                     '"LoadBalancer", "NodePort"' % _q(t), FV_NOTSUP))
    ports = spec.get("ports")
    if ports is None:
        if t != "ExternalName" and spec.get("clusterIP") != "None":
            errs.append(req("spec.ports"))
        return
    if not isinstance(ports, list):
        errs.append(inv("spec.ports", ports, "must be a list"))
        return
    for i, p in enumerate(ports):
        port = p.get("port") if isinstance(p, dict) else None
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            errs.append(inv("spec.ports[%d].port" % i, port, "must be between 1 and 65535, inclusive"))
        if len(ports) > 1 and isinstance(p, dict) and not p.get("name"):
            errs.append(req("spec.ports[%d].name" % i))


NAME_RULES = {"namespaces": "label", "secrets": "subdomain", "services": "1035", "deployments": "subdomain",
              "clusters": "subdomain", "poolers": "subdomain"}


def validate(res, obj, old, cluster_names=()):
    """Raise ApiError 422 when obj is invalid. old is the stored object on update (None on create)."""
    errs = []
    webhook = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if old is None:
        errs.extend(name_errors(NAME_RULES.get(res.plural, "subdomain"), name))
    check_metadata(res, obj, errs)
    if res is R.CLUSTERS:
        if old is None:
            if not DNS1035_LABEL.match(name):
                webhook.append(inv("metadata.name", name, "cluster name must be a valid DNS label (RFC 1035)"))
            if len(name) > 50:
                webhook.append(inv("metadata.name", name, "the maximum length of a cluster name is 50 characters"))
        validate_cluster(obj, old, errs, webhook)
    elif res is R.POOLERS:
        if old is None and (not DNS1035_LABEL.match(name) or len(name) > 63):
            webhook.append(inv("metadata.name", name, "the pooler name must be a valid DNS label (RFC 1035): "
                               "it is also the name of its Service and Deployment"))
        validate_pooler(obj, old, errs, webhook, cluster_names)
    elif res is R.SECRETS:
        validate_secret(obj, errs)
    elif res is R.SERVICES:
        validate_service(obj, errs)
    if errs:
        raise invalid(res, name, errs)
    if webhook:
        e = invalid(res, name, webhook)
        e.message = 'admission webhook "v%s.cnpg.io" denied the request: %s' % (res.singular, e.message)
        raise e
