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


def path_segment_errors(name):
    """Kubernetes' path.IsValidPathSegmentName: the only rule for RBAC names (system:foo is valid)."""
    if name in (".", ".."):
        return ["may not be '%s'" % name]
    return ["may not contain '%s'" % c for c in ("/", "%") if c in name]


def name_messages(kind, name):
    """kind: 'subdomain', 'label', '1035' or 'path' (RBAC). The messages of the failed rules."""
    if kind == "path":
        return path_segment_errors(name)
    out = []
    if kind == "subdomain":
        if len(name) > 253:
            out.append("must be no more than 253 characters")
        if not DNS1123_SUB.match(name):
            out.append(MSG_SUB)
    else:
        if len(name) > 63:
            out.append("must be no more than 63 characters")
        rx, msg = (DNS1123_LABEL, MSG_LABEL) if kind == "label" else (DNS1035_LABEL, MSG_1035)
        if not rx.match(name):
            out.append(msg)
    return out


def name_errors(kind, name, field="metadata.name"):
    return [inv(field, name, m) for m in name_messages(kind, name)]


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
}

# apps/v1 Deployment and core/v1 PodSpec (Kubernetes 1.32): every field is known, so that
# fieldValidation=Strict rejects a typo anywhere a real API server would. Rarely used subtrees
# (affinity, tolerations, most volume sources, ...) are ANY below their own name.
NAME_REF = {"name": ANY}
OPT_NAME_REF = {"name": ANY, "optional": ANY}
KEY_TO_PATH = ("list", {"key": ANY, "path": ANY, "mode": ANY})
LABEL_SELECTOR = {"matchLabels": STR_MAP,
                  "matchExpressions": ("list", {"key": ANY, "operator": ANY, "values": ANY})}
SECCOMP = {"type": ANY, "localhostProfile": ANY}
APPARMOR = {"type": ANY, "localhostProfile": ANY}
SELINUX = {"user": ANY, "role": ANY, "type": ANY, "level": ANY}
WINDOWS_OPTS = {"gmsaCredentialSpecName": ANY, "gmsaCredentialSpec": ANY, "runAsUserName": ANY, "hostProcess": ANY}
HTTP_GET = {"path": ANY, "port": ANY, "host": ANY, "scheme": ANY,
            "httpHeaders": ("list", {"name": ANY, "value": ANY})}
HANDLER = {"exec": {"command": ANY}, "httpGet": HTTP_GET, "tcpSocket": {"port": ANY, "host": ANY},
           "grpc": {"port": ANY, "service": ANY}}
PROBE = dict(HANDLER, initialDelaySeconds=ANY, timeoutSeconds=ANY, periodSeconds=ANY, successThreshold=ANY,
             failureThreshold=ANY, terminationGracePeriodSeconds=ANY)
LIFECYCLE_HANDLER = {"exec": {"command": ANY}, "httpGet": HTTP_GET, "tcpSocket": {"port": ANY, "host": ANY},
                     "sleep": {"seconds": ANY}}
RESOURCES = {"limits": ("map", ANY), "requests": ("map", ANY),
             "claims": ("list", {"name": ANY, "request": ANY})}
CONTAINER = {
    "name": ANY, "image": ANY, "command": ANY, "args": ANY, "workingDir": ANY,
    "ports": ("list", {"name": ANY, "hostPort": ANY, "containerPort": ANY, "protocol": ANY, "hostIP": ANY}),
    "envFrom": ("list", {"prefix": ANY, "configMapRef": OPT_NAME_REF, "secretRef": OPT_NAME_REF}),
    "env": ("list", {"name": ANY, "value": ANY, "valueFrom": {
        "fieldRef": {"apiVersion": ANY, "fieldPath": ANY},
        "resourceFieldRef": {"containerName": ANY, "resource": ANY, "divisor": ANY},
        "configMapKeyRef": {"name": ANY, "key": ANY, "optional": ANY},
        "secretKeyRef": {"name": ANY, "key": ANY, "optional": ANY}}}),
    "resources": RESOURCES,
    "resizePolicy": ("list", {"resourceName": ANY, "restartPolicy": ANY}),
    "restartPolicy": ANY,
    "volumeMounts": ("list", {"name": ANY, "readOnly": ANY, "recursiveReadOnly": ANY, "mountPath": ANY,
                              "subPath": ANY, "mountPropagation": ANY, "subPathExpr": ANY}),
    "volumeDevices": ("list", {"name": ANY, "devicePath": ANY}),
    "livenessProbe": PROBE, "readinessProbe": PROBE, "startupProbe": PROBE,
    "lifecycle": {"postStart": LIFECYCLE_HANDLER, "preStop": LIFECYCLE_HANDLER},
    "terminationMessagePath": ANY, "terminationMessagePolicy": ANY, "imagePullPolicy": ANY,
    "securityContext": {"capabilities": {"add": ANY, "drop": ANY}, "privileged": ANY, "seLinuxOptions": SELINUX,
                        "windowsOptions": WINDOWS_OPTS, "runAsUser": ANY, "runAsGroup": ANY, "runAsNonRoot": ANY,
                        "readOnlyRootFilesystem": ANY, "allowPrivilegeEscalation": ANY, "procMount": ANY,
                        "seccompProfile": SECCOMP, "appArmorProfile": APPARMOR},
    "stdin": ANY, "stdinOnce": ANY, "tty": ANY,
}
VOLUME = {k: ANY for k in [
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
    "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc", "azureFile",
    "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
    "storageos", "csi", "ephemeral", "image"]}
VOLUME.update({
    "name": ANY,
    "emptyDir": {"medium": ANY, "sizeLimit": ANY},
    "secret": {"secretName": ANY, "items": KEY_TO_PATH, "defaultMode": ANY, "optional": ANY},
    "configMap": {"name": ANY, "items": KEY_TO_PATH, "defaultMode": ANY, "optional": ANY},
})
POD_SPEC = {k: ANY for k in [
    "activeDeadlineSeconds", "affinity", "dnsConfig", "dnsPolicy", "enableServiceLinks", "hostAliases",
    "hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname", "nodeName", "nodeSelector", "os", "overhead",
    "preemptionPolicy", "priority", "priorityClassName", "readinessGates", "resourceClaims", "restartPolicy",
    "runtimeClassName", "schedulerName", "schedulingGates", "serviceAccount", "serviceAccountName",
    "automountServiceAccountToken", "setHostnameAsFQDN", "shareProcessNamespace", "subdomain",
    "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints"]}
POD_SPEC.update({
    "containers": ("list", CONTAINER), "initContainers": ("list", CONTAINER),
    "ephemeralContainers": ("list", dict(CONTAINER, targetContainerName=ANY)),
    "volumes": ("list", VOLUME),
    "imagePullSecrets": ("list", NAME_REF),
    "resources": RESOURCES,
    "securityContext": {"seLinuxOptions": SELINUX, "windowsOptions": WINDOWS_OPTS, "runAsUser": ANY,
                        "runAsGroup": ANY, "runAsNonRoot": ANY, "supplementalGroups": ANY,
                        "supplementalGroupsPolicy": ANY, "fsGroup": ANY, "sysctls": ANY,
                        "fsGroupChangePolicy": ANY, "seccompProfile": SECCOMP, "appArmorProfile": APPARMOR,
                        "seLinuxChangePolicy": ANY},
})
DEPLOYMENT_SPEC = {
    "replicas": ANY, "selector": LABEL_SELECTOR, "minReadySeconds": ANY, "revisionHistoryLimit": ANY,
    "paused": ANY, "progressDeadlineSeconds": ANY,
    "template": {"metadata": METADATA, "spec": POD_SPEC},
    "strategy": {"type": ANY, "rollingUpdate": {"maxUnavailable": ANY, "maxSurge": ANY}},
}
POLICY_RULE = {"verbs": ANY, "apiGroups": ANY, "resources": ANY, "resourceNames": ANY, "nonResourceURLs": ANY}
ROLE_REF = {"apiGroup": ANY, "kind": ANY, "name": ANY}
SUBJECT = {"kind": ANY, "apiGroup": ANY, "name": ANY, "namespace": ANY}
OBJECT_REF = {k: ANY for k in ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"]}
_TOP = {"apiVersion": ANY, "kind": ANY, "metadata": METADATA}
SCHEMAS.update({
    "deployments": dict(_TOP, spec=DEPLOYMENT_SPEC, status=ANY),
    "serviceaccounts": dict(_TOP, secrets=("list", OBJECT_REF), imagePullSecrets=("list", NAME_REF),
                            automountServiceAccountToken=ANY),
    "configmaps": dict(_TOP, data=STR_MAP, binaryData=STR_MAP, immutable=ANY),
    "roles": dict(_TOP, rules=("list", POLICY_RULE)),
    "clusterroles": dict(_TOP, rules=("list", POLICY_RULE),
                         aggregationRule={"clusterRoleSelectors": ("list", LABEL_SELECTOR)}),
    "rolebindings": dict(_TOP, roleRef=ROLE_REF, subjects=("list", SUBJECT)),
    "clusterrolebindings": dict(_TOP, roleRef=ROLE_REF, subjects=("list", SUBJECT)),
})


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
              "clusters": "subdomain", "poolers": "subdomain", "serviceaccounts": "subdomain",
              "configmaps": "subdomain", "roles": "path", "rolebindings": "path", "clusterroles": "path",
              "clusterrolebindings": "path"}


# ------------------------------------------------------------------ core/v1, apps/v1, rbac/v1 rules

CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                  "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
MAX_CONFIG_SIZE = 1024 * 1024


def config_key_errors(key):
    out = []
    if len(key) > 253:
        out.append("must be no more than 253 characters")
    if not SECRET_KEY.match(key):
        out.append(CONFIG_KEY_MSG)
    if key in (".", ".."):
        out.append("must not be '%s'" % key)
    elif key.startswith(".."):
        out.append("must not start with '..'")
    return out


def _not_supported(field, value, allowed):
    return (field, "Unsupported value: %s: supported values: %s" % (_q(value), ", ".join('"%s"' % a for a in allowed)),
            FV_NOTSUP)


def _go_type(v):
    return {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(v), "value")


def decode_types(res, obj):
    """Type errors a real server reports while decoding JSON (400), for the fields kubesim checks."""
    def fail(struct, field, want, v):
        raise ApiError(400, "BadRequest", '%s in version "%s" cannot be handled as a %s: json: cannot unmarshal %s '
                       'into Go struct field %s.%s of type %s' % (res.kind, res.version, res.kind, _go_type(v),
                                                                  struct, field, want))
    if res.plural == "configmaps":
        for key in ("data", "binaryData"):
            m = obj.get(key)
            if m is None:
                continue
            if not isinstance(m, dict):
                fail("ConfigMap", key, "map[string]string" if key == "data" else "map[string][]uint8", m)
            for v in m.values():
                if not isinstance(v, str):
                    fail("ConfigMap", key, "string" if key == "data" else "[]uint8", v)
    elif res.plural == "deployments":
        spec = obj.get("spec")
        if spec is not None and not isinstance(spec, dict):
            fail("Deployment", "spec", "v1.DeploymentSpec", spec)
        for key in ("replicas", "revisionHistoryLimit", "minReadySeconds", "progressDeadlineSeconds"):
            v = (spec or {}).get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                fail("DeploymentSpec", "spec." + key, "int32", v)


def _go_map(m):
    if not isinstance(m, dict):
        return str(m)
    return "map[string]string{%s}" % ", ".join('"%s":"%s"' % (k, v) for k, v in sorted(m.items()))


def validate_configmap(obj, old, errs):
    data = obj.get("data") or {}
    binary = obj.get("binaryData") or {}
    total = 0
    for key, v in data.items():
        for m in config_key_errors(key):
            errs.append(inv("data[%s]" % key, key, m))
        if key in binary:
            errs.append(inv("data[%s]" % key, key, "duplicate of key present in binaryData"))
        total += len(v.encode()) if isinstance(v, str) else 0
    for key, v in binary.items():
        for m in config_key_errors(key):
            errs.append(inv("binaryData[%s]" % key, key, m))
        if key in data:
            errs.append(inv("binaryData[%s]" % key, key, "duplicate of key present in data"))
        try:
            total += len(base64.b64decode(v, validate=True))
        except Exception:
            errs.append(inv("binaryData[%s]" % key, "<binary>", "illegal base64 data"))
    if total > MAX_CONFIG_SIZE:
        errs.append(("", "Too long: must have at most %d bytes" % MAX_CONFIG_SIZE, FV_TOOLONG))
    if old is not None and old.get("immutable") is True:
        if obj.get("immutable") is not True:
            errs.append(("immutable", "Forbidden: field is immutable when `immutable` is set", FV_FORBIDDEN))
        if data != (old.get("data") or {}):
            errs.append(("data", "Forbidden: field is immutable when `immutable` is set", FV_FORBIDDEN))
        if binary != (old.get("binaryData") or {}):
            errs.append(("binaryData", "Forbidden: field is immutable when `immutable` is set", FV_FORBIDDEN))


def _str_list(v):
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def validate_rules(obj, namespaced, errs):
    rules = obj.get("rules")
    if rules is None:
        return
    if not isinstance(rules, list):
        errs.append(inv("rules", rules, "must be a list"))
        return
    for i, rule in enumerate(rules):
        f = "rules[%d]" % i
        if not isinstance(rule, dict):
            errs.append(inv(f, rule, "must be an object"))
            continue
        if not rule.get("verbs"):
            errs.append((f + ".verbs", "Required value: verbs must contain at least one value", FV_REQUIRED))
        urls = _str_list(rule.get("nonResourceURLs"))
        if urls:
            if namespaced:
                errs.append((f + ".nonResourceURLs", "Invalid value: %s: namespaced rules cannot apply to "
                             "non-resource URLs" % _q(urls), FV_INVALID))
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                errs.append((f + ".nonResourceURLs", "Invalid value: %s: rules cannot apply to both regular "
                             "resources and non-resource URLs" % _q(urls), FV_INVALID))
            continue
        if not rule.get("apiGroups"):
            errs.append((f + ".apiGroups", "Required value: resource rules must supply at least one api group",
                         FV_REQUIRED))
        if not rule.get("resources"):
            errs.append((f + ".resources", "Required value: resource rules must supply at least one resource",
                         FV_REQUIRED))
        if rule.get("resourceNames") and len(rule.get("resources") or []) > 1:
            errs.append((f + ".resourceNames", "Required value: resource names cannot apply to multiple resources",
                         FV_REQUIRED))


def validate_binding(obj, old, namespaced, errs):
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        ref = {}
    if ref.get("apiGroup") != R.RBAC:
        errs.append(_not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [R.RBAC]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        errs.append(_not_supported("roleRef.kind", ref.get("kind", ""), kinds))
    if not ref.get("name"):
        errs.append(req("roleRef.name"))
    else:
        for m in path_segment_errors(str(ref["name"])):
            errs.append(inv("roleRef.name", ref["name"], m))
    subjects = obj.get("subjects") or []
    if not isinstance(subjects, list):
        errs.append(inv("subjects", subjects, "must be a list"))
        subjects = []
    for i, sub in enumerate(subjects):
        f = "subjects[%d]" % i
        if not isinstance(sub, dict):
            errs.append(inv(f, sub, "must be an object"))
            continue
        name = sub.get("name") or ""
        if not name:
            errs.append(req(f + ".name"))
        kind, group = sub.get("kind"), sub.get("apiGroup") or ""
        if kind == "ServiceAccount":
            if name:
                errs.extend(name_errors("subdomain", str(name), f + ".name"))
            if group:
                errs.append(_not_supported(f + ".apiGroup", group, [""]))
            if not namespaced and not sub.get("namespace"):
                errs.append(req(f + ".namespace"))
        elif kind in ("User", "Group"):
            if not name:
                errs.append(inv(f + ".name", name, "%s name cannot be empty" % kind.lower()))
            if group != R.RBAC:
                errs.append(_not_supported(f + ".apiGroup", group, [R.RBAC]))
        else:
            errs.append(_not_supported(f + ".kind", kind or "", ["ServiceAccount", "User", "Group"]))
    if old is not None and (old.get("roleRef") or {}) != ref:
        errs.append(("roleRef", "Invalid value: %s: cannot change roleRef" % _q(str(ref)), FV_INVALID))


_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _port_name_errors(name):
    if not isinstance(name, str):
        return ["must be a string"]
    out = []
    if len(name) > 15:
        out.append("must be no more than 15 characters")
    if not _PORT_NAME.match(name):
        out.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    elif "--" in name:
        out.append("must not contain consecutive hyphens")
    if not re.search(r"[a-z]", name):
        out.append("must contain at least one letter (a-z)")
    return out


def selector_matches(sel, labels):
    """A metav1.LabelSelector against a label map (an empty selector matches nothing here: it is refused)."""
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        if not isinstance(e, dict):
            return False
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def _nonneg(spec, key, field, errs):
    v = spec.get(key)
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int):
        errs.append(inv(field, v, "must be an integer"))
    elif v < 0:
        errs.append(inv(field, v, "must be greater than or equal to 0"))


def validate_containers(spec, f, errs):
    volumes = spec.get("volumes") or []
    vnames = set()
    if not isinstance(volumes, list):
        errs.append(inv(f + ".volumes", volumes, "must be a list"))
        volumes = []
    for i, v in enumerate(volumes):
        vf = "%s.volumes[%d]" % (f, i)
        n = v.get("name") if isinstance(v, dict) else None
        if not n:
            errs.append(req(vf + ".name"))
            continue
        errs.extend(name_errors("label", str(n), vf + ".name"))
        if n in vnames:
            errs.append((vf + ".name", "Duplicate value: %s" % _q(n), "FieldValueDuplicate"))
        vnames.add(n)
    containers = spec.get("containers")
    if not containers:
        errs.append(req(f + ".containers"))
        containers = []
    if not isinstance(containers, list):
        errs.append(inv(f + ".containers", containers, "must be a list"))
        return
    names = set()
    for kind in ("initContainers", "containers"):
        lst = containers if kind == "containers" else (spec.get(kind) or [])
        for i, c in enumerate(lst if isinstance(lst, list) else []):
            cf = "%s.%s[%d]" % (f, kind, i)
            if not isinstance(c, dict):
                errs.append(inv(cf, c, "must be an object"))
                continue
            n = c.get("name")
            if not n:
                errs.append(req(cf + ".name"))
            else:
                errs.extend(name_errors("label", str(n), cf + ".name"))
                if n in names:
                    errs.append((cf + ".name", "Duplicate value: %s" % _q(n), "FieldValueDuplicate"))
                names.add(n)
            if not c.get("image"):
                errs.append(req(cf + ".image"))
            pp = c.get("imagePullPolicy")
            if pp is not None and pp not in ("Always", "IfNotPresent", "Never"):
                errs.append(_not_supported(cf + ".imagePullPolicy", pp, ["Always", "IfNotPresent", "Never"]))
            for j, p in enumerate(c.get("ports") or []):
                pf = "%s.ports[%d]" % (cf, j)
                if not isinstance(p, dict):
                    continue
                cp = p.get("containerPort")
                if not isinstance(cp, int) or isinstance(cp, bool) or not 1 <= cp <= 65535:
                    errs.append(inv(pf + ".containerPort", cp, "must be between 1 and 65535, inclusive"))
                if p.get("name") is not None:
                    for m in _port_name_errors(p["name"]):
                        errs.append(inv(pf + ".name", p["name"], m))
                proto = p.get("protocol", "TCP")
                if proto not in ("TCP", "UDP", "SCTP"):
                    errs.append(_not_supported(pf + ".protocol", proto, ["SCTP", "TCP", "UDP"]))
            for j, m in enumerate(c.get("volumeMounts") or []):
                mf = "%s.volumeMounts[%d]" % (cf, j)
                if not isinstance(m, dict):
                    continue
                if not m.get("name"):
                    errs.append(req(mf + ".name"))
                elif m["name"] not in vnames:
                    errs.append((mf + ".name", "Not found: %s" % _q(m["name"]), "FieldValueNotFound"))
                if not m.get("mountPath"):
                    errs.append(req(mf + ".mountPath"))
            for j, e in enumerate(c.get("env") or []):
                if isinstance(e, dict) and not e.get("name"):
                    errs.append(req("%s.env[%d].name" % (cf, j)))


def validate_deployment(obj, old, errs):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.append(req("spec"))
        return
    _nonneg(spec, "replicas", "spec.replicas", errs)
    _nonneg(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", errs)
    _nonneg(spec, "minReadySeconds", "spec.minReadySeconds", errs)
    sel = spec.get("selector")
    tpl = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    tlabels = (tpl.get("metadata") or {}).get("labels") or {}
    if not isinstance(sel, dict):
        errs.append(req("spec.selector"))
    elif not sel.get("matchLabels") and not sel.get("matchExpressions"):
        errs.append(inv("spec.selector", "{}", "empty selector is invalid for deployment"))
    elif not selector_matches(sel, tlabels):
        errs.append(("spec.template.metadata.labels", "Invalid value: %s: `selector` does not match template `labels`"
                     % _go_map(tlabels), FV_INVALID))
    if old is not None and isinstance(sel, dict) and sel != ((old.get("spec") or {}).get("selector")):
        errs.append(("spec.selector", "Invalid value: v1.LabelSelector{MatchLabels:%s, MatchExpressions:%s}: field "
                     "is immutable" % (_go_map(sel.get("matchLabels") or {}), sel.get("matchExpressions") or "nil"),
                     FV_INVALID))
    st = spec.get("strategy")
    if isinstance(st, dict):
        t = st.get("type", "RollingUpdate")
        if t not in ("Recreate", "RollingUpdate"):
            errs.append(_not_supported("spec.strategy.type", t, ["Recreate", "RollingUpdate"]))
        elif t == "Recreate" and st.get("rollingUpdate") is not None:
            errs.append(("spec.strategy.rollingUpdate", "Forbidden: may not be specified when strategy `type` is "
                         "'Recreate'", FV_FORBIDDEN))
        ru = st.get("rollingUpdate")
        if t == "RollingUpdate" and isinstance(ru, dict) and ru.get("maxUnavailable") in (0, "0%") and \
                ru.get("maxSurge") in (0, "0%"):
            errs.append(inv("spec.strategy.rollingUpdate.maxUnavailable", ru.get("maxUnavailable"),
                            "may not be 0 when `maxSurge` is 0"))
    pspec = tpl.get("spec")
    if not isinstance(pspec, dict):
        errs.append(req("spec.template.spec"))
        return
    rp = pspec.get("restartPolicy", "Always")
    if rp != "Always":
        errs.append(_not_supported("spec.template.spec.restartPolicy", rp, ["Always"]))
    validate_containers(pspec, "spec.template.spec", errs)


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
    elif res is R.CONFIGMAPS:
        validate_configmap(obj, old, errs)
    elif res is R.DEPLOYMENTS:
        validate_deployment(obj, old, errs)
    elif res in (R.ROLES, R.CLUSTERROLES):
        validate_rules(obj, res.namespaced, errs)
    elif res in (R.ROLEBINDINGS, R.CLUSTERROLEBINDINGS):
        validate_binding(obj, old, res.namespaced, errs)
    if errs:
        raise invalid(res, name, errs)
    if webhook:
        e = invalid(res, name, webhook)
        e.message = 'admission webhook "v%s.cnpg.io" denied the request: %s' % (res.singular, e.message)
        raise e
