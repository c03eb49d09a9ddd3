"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a strategic merge patch subset for core types."""
from .util import ApiError, bad_request, deepcopy_json


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return deepcopy_json(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _unescape(tok):
    return tok.replace("~1", "/").replace("~0", "~")


def _split_pointer(ptr):
    if ptr == "":
        return []
    if not ptr.startswith("/"):
        raise bad_request("json patch: invalid pointer %r" % ptr)
    return [_unescape(t) for t in ptr[1:].split("/")]


def _get(doc, toks):
    cur = doc
    for t in toks:
        if isinstance(cur, dict):
            if t not in cur:
                raise KeyError(t)
            cur = cur[t]
        elif isinstance(cur, list):
            if t == "-" or not t.isdigit():
                raise KeyError(t)
            i = int(t)
            if i >= len(cur):
                raise KeyError(t)
            cur = cur[i]
        else:
            raise KeyError(t)
    return cur


def _parent(doc, toks, op):
    try:
        return _get(doc, toks[:-1])
    except KeyError:
        raise ApiError(422, "Invalid",
                       "the server rejected our request due to an error in our request: "
                       "jsonpatch %s operation does not apply: doc is missing path: /%s" % (op, "/".join(toks)))


def json_patch(doc, ops):
    """RFC 6902 JSON patch of doc (a copy is patched), with the API server's error messages."""
    if not isinstance(ops, list):
        raise bad_request("json patch: body must be a JSON array")
    doc = deepcopy_json(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request("json patch: each operation needs 'op' and 'path'")
        doc = _json_patch_op(doc, op)
    return doc


def _missing(kind, path):
    return ApiError(422, "Invalid", "the server rejected our request due to an error in our request: "
                    "jsonpatch %s operation does not apply: doc is missing path: %s" % (kind, path))


def _json_patch_op(doc, op):
    kind, toks, val = op["op"], _split_pointer(op["path"]), None
    if kind in ("add", "replace", "test"):
        if "value" not in op:
            raise bad_request("json patch: %s needs 'value'" % kind)
        val = deepcopy_json(op["value"])
    if kind == "test":
        try:
            cur = _get(doc, toks)
        except KeyError:
            raise _missing(kind, op["path"])
        if cur != val:
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request: "
                           "testing value %s failed" % op["path"])
        return doc
    if kind in ("move", "copy"):
        frm = _split_pointer(op.get("from", ""))
        try:
            val = deepcopy_json(_get(doc, frm))
        except KeyError:
            raise _missing(kind, op["path"])
        if kind == "move":
            p = _parent(doc, frm, kind)
            del p[frm[-1] if isinstance(p, dict) else int(frm[-1])]
        kind = "add"
    if not toks:
        if kind in ("add", "replace"):
            return val
        raise bad_request("json patch: cannot remove the whole document")
    parent = _parent(doc, toks, kind)
    if isinstance(parent, dict):
        _patch_dict(parent, toks[-1], kind, val, op["path"])
    elif isinstance(parent, list):
        _patch_list(parent, toks[-1], kind, val, op["path"])
    else:
        raise _missing(kind, op["path"])
    return doc


def _patch_dict(parent, last, kind, val, path):
    if kind not in ("add", "replace", "remove"):
        raise bad_request("json patch: unknown op %r" % kind)
    if kind != "add" and last not in parent:
        raise _missing(kind, path)
    if kind == "remove":
        del parent[last]
    else:
        parent[last] = val


def _patch_list(parent, last, kind, val, path):
    if kind == "add":
        if last == "-":
            parent.append(val)
        elif not last.isdigit() or int(last) > len(parent):
            raise _missing(kind, path)
        else:
            parent.insert(int(last), val)
        return
    if not last.isdigit() or int(last) >= len(parent):
        raise _missing(kind, path)
    if kind == "replace":
        parent[int(last)] = val
    elif kind == "remove":
        del parent[int(last)]
    else:
        raise bad_request("json patch: unknown op %r" % kind)


# Strategic merge patch: merge keys (patchMergeKey) of the lists of the built-in types kubesim
# serves. Lists not named here are replaced, as are the lists without a patch strategy upstream
# (PolicyRule lists, RoleBinding subjects, command, args, envFrom, ...).
_MERGE_KEYS = {
    "ports": "port",                  # Service ports; a container's ports merge by containerPort
    "ownerReferences": "uid",
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "secrets": "name",                # ServiceAccount secrets
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "conditions": "type",
    "ingress": "ip",
}


def _merge_key(k, items):
    if k == "ports" and any(isinstance(x, dict) and "containerPort" in x for x in items):
        return "containerPort"
    return _MERGE_KEYS[k]


def strategic_merge_patch(target, patch, key=None):
    if not isinstance(patch, dict):
        return deepcopy_json(patch)
    if not isinstance(target, dict):
        target = {}
    if patch.get("$patch") == "replace":
        return {k: deepcopy_json(v) for k, v in patch.items() if not k.startswith("$")}
    if patch.get("$patch") == "delete":
        return None
    out = dict(target)
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k.startswith("$retainKeys") or k == "$patch":
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            name = k.split("/", 1)[1]
            if isinstance(out.get(name), list) and isinstance(v, list):
                out[name] = [x for x in out[name] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and k in _MERGE_KEYS and isinstance(out.get(k), list):
            mk = _merge_key(k, list(v) + list(out[k]))
            cur = [deepcopy_json(x) for x in out[k]]
            for item in v:
                if not isinstance(item, dict) or mk not in item:
                    cur.append(deepcopy_json(item))
                    continue
                idx = next((i for i, x in enumerate(cur) if isinstance(x, dict) and x.get(mk) == item[mk]), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        del cur[idx]
                elif idx is None:
                    cur.append({a: deepcopy_json(b) for a, b in item.items() if not a.startswith("$")})
                else:
                    cur[idx] = strategic_merge_patch(cur[idx], item)
            out[k] = cur
        elif isinstance(v, dict):
            r = strategic_merge_patch(out.get(k), v, k)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = deepcopy_json(v)
    return out
