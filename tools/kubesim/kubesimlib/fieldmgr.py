"""metadata.managedFields bookkeeping and server-side apply (SSA).

Ownership is tracked per (manager, operation, subresource) as a set of leaf paths. Lists are atomic
(a list is one leaf), maps are recursed into, an empty map is a leaf. This is coarser than the real
structured-merge-diff (which merges lists by key) but gives the behaviour clients see: an apply
takes the fields it names, removes the fields it named before and omits now (unless someone else
owns them), and conflicts with other managers that own a field it sets to a different value. A
value is "the same" when applying it would leave the live object as it is (see _unchanged), so
kubectl's client-side to server-side apply migration of an unchanged manifest needs no force.
"""
from .util import ApiError, deepcopy_json, now_rfc3339

_META_TRACKED = ("labels", "annotations", "finalizers", "ownerReferences")
_SKIP_TOP = ("apiVersion", "kind", "metadata", "status")


def _walk(node, prefix, out):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            _walk(v, prefix + (k,), out)
    else:
        out.add(prefix)


def leaf_paths(obj, subresource=""):
    out = set()
    if not isinstance(obj, dict):
        return out
    if subresource == "status":
        st = obj.get("status")
        if st is not None:
            _walk(st, ("status",), out)
        return out
    for k, v in obj.items():
        if k in _SKIP_TOP:
            continue
        _walk(v, (k,), out)
    md = obj.get("metadata") or {}
    for k in _META_TRACKED:
        if k in md:
            _walk(md[k], ("metadata", k), out)
    return out


_MISSING = object()


def get_path(obj, path):
    cur = obj
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return _MISSING
        cur = cur[p]
    return cur


def del_path(obj, path, keep):
    """Delete path from obj; remove parents that become empty unless they are in keep."""
    chain = []
    cur = obj
    for p in path[:-1]:
        if not isinstance(cur, dict) or p not in cur:
            return
        chain.append((cur, p))
        cur = cur[p]
    if isinstance(cur, dict):
        cur.pop(path[-1], None)
    for i in range(len(chain) - 1, -1, -1):
        parent, key = chain[i]
        sub = parent[key]
        ppath = path[:i + 1]
        if isinstance(sub, dict) and not sub and ppath not in keep and len(ppath) > 1:
            del parent[key]
        else:
            break


def paths_to_fields(paths):
    root = {}
    for p in sorted(paths):
        cur = root
        for k in p:
            cur = cur.setdefault("f:" + k, {})
    return root


def fields_to_paths(fields, prefix=(), out=None):
    if out is None:
        out = set()
    if not isinstance(fields, dict) or not fields:
        if prefix:
            out.add(prefix)
        return out
    named = [k for k in fields if k.startswith("f:")]
    other = [k for k in fields if not k.startswith("f:") and k != "."]
    if other and prefix:
        # list items (k:/v:/i:): kubesim treats the whole list as one leaf.
        out.add(prefix)
        return out
    if not named:
        if prefix:
            out.add(prefix)
        return out
    for k in named:
        fields_to_paths(fields[k], prefix + (k[2:],), out)
    return out


def parse_entries(obj):
    md = obj.get("metadata") or {}
    out = []
    for e in md.get("managedFields") or []:
        if not isinstance(e, dict):
            continue
        key = (e.get("manager", ""), e.get("operation", "Update"), e.get("subresource", ""))
        out.append([key, fields_to_paths(e.get("fieldsV1") or {}), e.get("apiVersion", ""), e.get("time")])
    return out


def write_entries(obj, entries):
    lst = []
    for key, paths, apiv, t in entries:
        if not paths:
            continue
        e = {"manager": key[0], "operation": key[1], "apiVersion": apiv, "time": t or now_rfc3339(),
             "fieldsType": "FieldsV1", "fieldsV1": paths_to_fields(paths)}
        if key[2]:
            e["subresource"] = key[2]
        lst.append(e)
    md = obj.setdefault("metadata", {})
    if lst:
        md["managedFields"] = lst
    else:
        md.pop("managedFields", None)


def _overlaps(p, paths):
    if p in paths:
        return True
    for i in range(1, len(p)):
        if p[:i] in paths:
            return True
    n = len(p)
    for q in paths:
        if len(q) > n and q[:n] == p:
            return True
    return False


def _remove_overlapping(p, paths):
    for q in list(paths):
        n = min(len(p), len(q))
        if p[:n] == q[:n]:
            paths.discard(q)


def record_update(old, new, manager, subresource, api_version):
    """Record an Update operation by manager that turned old (None on create) into new."""
    if not manager:
        manager = "unknown"
    old_md = (old or {}).get("metadata") or {}
    new_md = new.get("metadata") or {}
    if old is not None and new_md.get("managedFields") != old_md.get("managedFields") and new_md.get("managedFields") is not None:
        entries = parse_entries(new)      # the client rewrote managedFields: take them as given
    else:
        entries = parse_entries(old) if old is not None else []
    scope_new = leaf_paths(new, subresource)
    scope_old = leaf_paths(old, subresource) if old is not None else set()
    changed = set()
    for p in scope_new:
        if old is None or get_path(old, p) != get_path(new, p):
            changed.add(p)
    removed = scope_old - scope_new
    key = (manager, "Update", subresource)
    mine = None
    for e in entries:
        if e[0] == key:
            mine = e
        else:
            for p in changed:
                _remove_overlapping(p, e[1])
        for p in removed:
            _remove_overlapping(p, e[1])
    if changed:
        if mine is None:
            mine = [key, set(), api_version, None]
            entries.append(mine)
        for p in changed:
            _remove_overlapping(p, mine[1])
        mine[1] |= changed
        mine[2] = api_version
        mine[3] = now_rfc3339()
    write_entries(new, entries)


def _unchanged(live, applied):
    """True when applying `applied` over `live` would not change it, so that co-owning the field is
    no conflict. Maps (and the items of the lists kubesim treats atomically) may hold more in the
    live object than was applied: the server's defaults (a Service port's protocol and targetPort)
    make no difference, as with the real server, which merges those lists by key."""
    if isinstance(applied, dict):
        if not isinstance(live, dict):
            return False
        for k, v in applied.items():
            if v is None:
                if k in live:
                    return False
            elif k not in live or not _unchanged(live[k], v):
                return False
        return True
    if isinstance(applied, list):
        return isinstance(live, list) and len(live) == len(applied) and \
            all(_unchanged(a, b) for a, b in zip(live, applied))
    return live is not _MISSING and live == applied and isinstance(live, bool) == isinstance(applied, bool)


def _deep_merge(cur, cfg):
    if not isinstance(cfg, dict) or not isinstance(cur, dict):
        return deepcopy_json(cfg)
    out = dict(cur)
    for k, v in cfg.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict) and v:
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = deepcopy_json(v)
    return out


def apply(current, config, manager, force, subresource, api_version, res, name):
    """Server-side apply of config onto current (None = create). Returns the new object."""
    if subresource == "status":
        cfg = {"status": deepcopy_json(config.get("status") or {})}
    else:
        cfg = {k: v for k, v in config.items() if k not in ("status", "metadata")}
        md = config.get("metadata") or {}
        cmd = {k: deepcopy_json(md[k]) for k in _META_TRACKED if k in md}
        cfg["metadata"] = cmd
    applied = leaf_paths(cfg, subresource)
    key = (manager, "Apply", subresource)
    if current is None:
        new = deepcopy_json(config)
        if subresource != "status":
            new.pop("status", None)
        new.setdefault("metadata", {}).pop("managedFields", None)
        write_entries(new, [[key, applied, api_version, now_rfc3339()]])
        return new
    entries = parse_entries(current)
    mine = next((e for e in entries if e[0] == key), None)
    previous = set(mine[1]) if mine else set()
    conflicts = []
    for p in sorted(applied):
        if _unchanged(get_path(current, p), get_path(cfg, p)):
            continue
        for e in entries:
            if e[0] == key or e[0][2] != subresource:
                continue
            if _overlaps(p, e[1]):
                conflicts.append((e[0][0], p))
    if conflicts and not force:
        causes = []
        for mgr, p in conflicts:
            causes.append({"reason": "FieldManagerConflict",
                           "message": 'conflict with "%s" using %s' % (mgr, api_version),
                           "field": "." + ".".join(p)})
        msgs = "\n".join("- %s: %s" % (c["message"], c["field"]) for c in causes)
        raise ApiError(409, "Conflict", "Apply failed with %d conflict%s: %s" % (
            len(causes), "" if len(causes) == 1 else "s",
            causes[0]["message"] + ": " + causes[0]["field"] if len(causes) == 1 else "\n" + msgs),
            {"name": name, "group": res.group, "kind": res.plural, "causes": causes})
    if force:
        for mgr, p in conflicts:
            for e in entries:
                if e[0] != key and e[0][0] == mgr:
                    _remove_overlapping(p, e[1])
    new = deepcopy_json(current)
    if subresource == "status":
        new["status"] = _deep_merge(new.get("status") or {}, cfg["status"])
    else:
        for k, v in cfg.items():
            if k == "metadata":
                md = new.setdefault("metadata", {})
                for mk, mv in v.items():
                    if isinstance(mv, dict) and isinstance(md.get(mk), dict):
                        md[mk] = _deep_merge(md[mk], mv)
                    else:
                        md[mk] = deepcopy_json(mv)
            elif v is None:
                new.pop(k, None)
            elif isinstance(v, dict) and isinstance(new.get(k), dict) and v:
                new[k] = _deep_merge(new[k], v)
            else:
                new[k] = deepcopy_json(v)
    others = set()
    for e in entries:
        if e[0] != key:
            others |= e[1]
    for p in previous - applied:
        if _overlaps(p, applied) or _overlaps(p, others):
            continue
        del_path(new, p, applied | others)
    if mine is None:
        mine = [key, set(), api_version, None]
        entries.append(mine)
    mine[1] = applied
    mine[2] = api_version
    mine[3] = now_rfc3339()
    write_entries(new, entries)
    return new
