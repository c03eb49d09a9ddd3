"""Minimal OpenAPI documents that make kubectl apply/create/replace validate against the server.

/openapi/v3 lists one document per group-version whose item paths carry a PATCH operation with
x-kubernetes-group-version-kind and a fieldValidation query parameter (kubectl 1.29+ then uses
server-side field validation). /openapi/v2 is the same information as a gnostic protobuf
openapi.v2.Document, for kubectl versions that only read v2.
"""
import hashlib
import json

from . import resources as R


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
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (kubesim)", "version": "v1.32.0"}, "paths": paths}


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

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


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
