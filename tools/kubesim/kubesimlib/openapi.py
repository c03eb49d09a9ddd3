"""OpenAPI documents: what kubectl needs to validate against the server and to explain CNPG kinds.

/openapi/v3 lists one document per group-version whose item paths carry a PATCH operation with
x-kubernetes-group-version-kind and a fieldValidation query parameter (kubectl 1.29+ then uses
server-side field validation). The postgresql.cnpg.io/v1 document also carries
components.schemas built from the real CNPG CRDs (cnpg_schemas.json.gz, made by
dev/gen_cnpg_schemas.py), as a real server does for a CRD, so `kubectl explain cluster.spec` works.
/openapi/v2 is the path information as a gnostic protobuf openapi.v2.Document, for kubectl
versions that only read v2.
"""
import gzip
import hashlib
import json
import os

from . import resources as R
from .protobuf import encode_varint as _varint


def _item_path(r):
    base = "/apis/%s/%s" % (r.group, r.version) if r.group else "/api/%s" % r.version
    if r.namespaced:
        return "%s/namespaces/{namespace}/%s/{name}" % (base, r.plural)
    return "%s/%s/{name}" % (base, r.plural)


def _gv_key(group, version):
    return "apis/%s/%s" % (group, version) if group else "api/%s" % version


def v3_gv_doc(group, version):
    paths = {}
    for r in R.by_gv(group, version):
        if "patch" not in r.verbs:
            continue
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                  {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                  {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                  {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": True}}]
        op = {"operationId": "patch" + r.kind, "x-kubernetes-action": "patch",
              "x-kubernetes-group-version-kind": gvk, "parameters": params,
              "responses": {"200": {"description": "OK"}}}
        paths[_item_path(r)] = {"patch": op}
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes (kubesim)", "version": "v1.32.0"}, "paths": paths}
    schemas = crd_components(group, version)
    if schemas:
        doc["components"] = {"schemas": schemas}
    return doc


OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_STR = {"type": "string"}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
# The ObjectMeta fields, for explain's metadata line (a real server serves the full definition).
_OBJECT_META_SCHEMA = {
    "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects "
                   "users must create.",
    "type": "object",
    "properties": {"name": _STR, "generateName": _STR, "namespace": _STR, "uid": _STR, "resourceVersion": _STR,
                   "generation": {"type": "integer", "format": "int64"},
                   "creationTimestamp": {"type": "string", "format": "date-time"},
                   "deletionTimestamp": {"type": "string", "format": "date-time"},
                   "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
                   "labels": _STR_MAP, "annotations": _STR_MAP,
                   "finalizers": {"type": "array", "items": _STR},
                   "ownerReferences": {"type": "array", "items": {"type": "object"}},
                   "managedFields": {"type": "array", "items": {"type": "object"}}}}


def _crd_schemas():
    with gzip.open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cnpg_schemas.json.gz")) as f:
        return json.load(f)["kinds"]


def crd_components(group, version):
    """components.schemas for a CRD group-version, named and shaped as a real server names them."""
    kinds = {k: v for k, v in _crd_schemas().items() if v["group"] == group and v["version"] == version} \
        if group.endswith("cnpg.io") else {}
    if not kinds:
        return None
    prefix = ".".join(reversed(group.split("."))) + "." + version + "."
    out = {OBJECT_META: _OBJECT_META_SCHEMA}
    for kind, k in kinds.items():
        s = json.loads(json.dumps(k["schema"]))
        s["properties"]["metadata"] = {"description": "Standard object's metadata. More info: https://git.k8s.io/"
                                       "community/contributors/devel/sig-architecture/api-conventions.md#metadata",
                                       "allOf": [{"$ref": "#/components/schemas/" + OBJECT_META}]}
        s["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
        out[prefix + kind] = s
    return out


_V3_DOCS = {}
_V3_ROOT = None


def v3_docs():
    global _V3_ROOT
    if _V3_ROOT is None:
        root = {}
        for g, v in R.GROUPS:
            body = json.dumps(v3_gv_doc(g, v), separators=(",", ":")).encode()
            h = hashlib.sha512(body).hexdigest()[:128].upper()
            key = _gv_key(g, v)
            _V3_DOCS[key] = (body, h)
            root[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, h)}
        _V3_ROOT = json.dumps({"paths": root}, separators=(",", ":")).encode()
    return _V3_ROOT, _V3_DOCS


# ------------------------------------------------------------------ protobuf v2

def _field(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint((num << 3) | 2) + _varint(len(payload)) + payload


def v2_protobuf():
    path_items = b""
    for g, v in R.GROUPS:
        for r in R.by_gv(g, v):
            if "patch" not in r.verbs:
                continue
            qp = _field(2, "query") + _field(4, "fieldValidation") + _field(6, "string")
            non_body = _field(3, qp)
            param = _field(2, non_body)
            params_item = _field(1, param)
            yaml = "group: %s\nkind: %s\nversion: %s\n" % ('""' if not r.group else r.group, r.kind, r.version)
            any_msg = _field(2, yaml)
            named_any = _field(1, "x-kubernetes-group-version-kind") + _field(2, any_msg)
            operation = _field(5, "patch" + r.kind) + _field(8, params_item) + _field(13, named_any)
            path_item = _field(8, operation)
            named_path = _field(1, _item_path(r)) + _field(2, path_item)
            path_items += _field(2, named_path)
    info = _field(1, "Kubernetes (kubesim)") + _field(2, "v1.32.0")
    return _field(1, "2.0") + _field(2, info) + _field(8, path_items)


def v2_json():
    paths = {}
    for g, v in R.GROUPS:
        for r in R.by_gv(g, v):
            if "patch" not in r.verbs:
                continue
            paths[_item_path(r)] = {"patch": {
                "operationId": "patch" + r.kind,
                "parameters": [{"name": "fieldValidation", "in": "query", "type": "string"}],
                "x-kubernetes-group-version-kind": {"group": r.group, "kind": r.kind, "version": r.version}}}
    return {"swagger": "2.0", "info": {"title": "Kubernetes (kubesim)", "version": "v1.32.0"}, "paths": paths}
