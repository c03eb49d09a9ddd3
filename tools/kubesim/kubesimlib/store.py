"""In-memory object store with a global resourceVersion, label index, watch fan-out and bounded history."""
import bisect
import queue
import threading
import time

from . import resources as R
from .selectors import fields_match, labels_match
from .util import ApiError, already_exists, conflict, deepcopy_json, dumps, new_uid, not_found, now_rfc3339


class Rec:
    """One stored object version. obj must never be mutated after the Rec is created."""
    __slots__ = ("obj", "_raw", "rv")

    def __init__(self, obj, rv):
        self.obj = obj
        self.rv = rv
        self._raw = None

    def raw(self):
        r = self._raw
        if r is None:
            r = self._raw = dumps(self.obj)
        return r

    @property
    def md(self):
        return self.obj["metadata"]


class Watcher:
    def __init__(self, res, ns, lsel, fsel):
        self.res = res
        self.ns = ns
        self.lsel = lsel
        self.fsel = fsel
        self.q = queue.SimpleQueue()
        self.closed = False

    def matches(self, obj):
        if obj is None:
            return False
        md = obj["metadata"]
        if self.ns is not None and md.get("namespace") != self.ns:
            return False
        if self.lsel and not labels_match(self.lsel, md.get("labels") or {}):
            return False
        if self.fsel and not fields_match(self.fsel, obj):
            return False
        return True

    def offer(self, etype, old, new):
        """Deliver an event, translating selector transitions like the API server does."""
        nm = self.matches(new.obj)
        if etype == "DELETED":
            if nm:
                self.q.put(("DELETED", new))
            return
        om = old is not None and self.matches(old.obj)
        if nm and om:
            self.q.put(("MODIFIED", new))
        elif nm:
            self.q.put(("ADDED", new))
        elif om:
            self.q.put(("DELETED", new))


class History:
    def __init__(self, limit, start_rv):
        self.limit = limit
        self.rvs = []
        self.events = []
        self.compacted = start_rv    # events with rv <= compacted may have been dropped

    def add(self, rv, etype, old, new):
        self.rvs.append(rv)
        self.events.append((etype, old, new))
        if len(self.rvs) > self.limit + self.limit // 4:
            drop = len(self.rvs) - self.limit
            self.compacted = self.rvs[drop - 1]
            del self.rvs[:drop]
            del self.events[:drop]

    def since(self, rv):
        i = bisect.bisect_right(self.rvs, rv)
        return [(self.rvs[j],) + self.events[j] for j in range(i, len(self.rvs))]


class Store:
    def __init__(self, history_limit=100000):
        self.lock = threading.RLock()
        # Resource versions start from the clock (microseconds), so an RV from an earlier run of
        # kubesim is always "too old" (410) here, never silently in the future.
        self.rv = int(time.time() * 1e6)
        self.start_rv = self.rv
        self.objs = {r.plural: {} for r in R.ALL}
        self.by_ns = {r.plural: {} for r in R.ALL}
        self.labels = {r.plural: {} for r in R.ALL}
        # (namespace, name) keys in order, overall and per namespace: a page of a list costs its
        # own size, not the number of stored objects
        self.order = {r.plural: [] for r in R.ALL}
        self.order_ns = {r.plural: {} for r in R.ALL}
        self.owners = {}            # owner uid -> set of (plural, ns, name)
        self.uids = {}              # uid -> (plural, ns, name)
        self.history = {r.plural: History(history_limit, self.rv) for r in R.ALL}
        self.watchers = {r.plural: set() for r in R.ALL}
        self.listeners = []          # callables (etype, res, old_rec, new_rec), called under the lock
        self.pre_commit = {}         # plural -> fn(old_obj, new_obj) mutating new_obj

    # ------------------------------------------------------------ indexes
    def _index_add(self, res, rec):
        md = rec.md
        key = (md.get("namespace") or "", md["name"])
        self.objs[res.plural][key] = rec
        self.by_ns[res.plural].setdefault(key[0], {})[key[1]] = rec
        if md.get("uid"):
            self.uids[md["uid"]] = (res.plural, key[0], key[1])
        li = self.labels[res.plural]
        for kv in (md.get("labels") or {}).items():
            li.setdefault(kv, set()).add(key)
        for ref in md.get("ownerReferences") or []:
            if isinstance(ref, dict) and ref.get("uid"):
                self.owners.setdefault(ref["uid"], set()).add((res.plural, key[0], key[1]))

    def _index_remove(self, res, rec):
        md = rec.md
        key = (md.get("namespace") or "", md["name"])
        self.objs[res.plural].pop(key, None)
        self.uids.pop(md.get("uid"), None)
        nsd = self.by_ns[res.plural].get(key[0])
        if nsd is not None:
            nsd.pop(key[1], None)
            if not nsd:
                del self.by_ns[res.plural][key[0]]
        li = self.labels[res.plural]
        for kv in (md.get("labels") or {}).items():
            s = li.get(kv)
            if s is not None:
                s.discard(key)
                if not s:
                    del li[kv]
        for ref in md.get("ownerReferences") or []:
            if isinstance(ref, dict) and ref.get("uid"):
                s = self.owners.get(ref["uid"])
                if s is not None:
                    s.discard((res.plural, key[0], key[1]))
                    if not s:
                        del self.owners[ref["uid"]]

    def _order_add(self, res, key):
        bisect.insort(self.order[res.plural], key)
        bisect.insort(self.order_ns[res.plural].setdefault(key[0], []), key)

    def _order_remove(self, res, key):
        for keys in (self.order[res.plural], self.order_ns[res.plural].get(key[0], [])):
            i = bisect.bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                del keys[i]
        if not self.order_ns[res.plural].get(key[0], True):
            del self.order_ns[res.plural][key[0]]

    def _next_rv(self):
        self.rv += 1
        return self.rv

    def _emit(self, res, etype, old, new):
        self.history[res.plural].add(new.rv, etype, old, new)
        for w in self.watchers[res.plural]:
            w.offer(etype, old, new)
        for fn in self.listeners:
            fn(etype, res, old, new)

    # ------------------------------------------------------------ reads
    def current_rv(self):
        with self.lock:
            return self.rv

    def get(self, res, ns, name):
        return self.objs[res.plural].get((ns or "", name))

    def count(self, res):
        return len(self.objs[res.plural])

    def uid_exists(self, uid):
        return uid in self.uids

    def dependents(self, uid):
        with self.lock:
            return set(self.owners.get(uid, ()))

    def list_page(self, res, ns, lsel, fsel, after, limit):
        """One page: up to limit (0 = all) matching records after the key `after` ((ns, name) or None)
        in (namespace, name) order. Returns (records, more, remaining); remaining is the count of
        records after the page when no selector applies (else None), as a real server reports it."""
        with self.lock:
            small = self._candidates(res, ns, lsel, fsel)
            # An indexed selector that matches many (daap's managed-by label matches every
            # Cluster) is paged by walking the key order like an unfiltered list: sorting all
            # matches for every page made a list of 100,000 quadratic.
            if small is not None and limit and len(small) > 8 * limit:
                small = None
            if small is not None or not limit:
                recs, _ = self.list(res, ns, lsel, fsel)
                if after is not None:
                    recs = recs[bisect.bisect_right([self._key(r) for r in recs], after):]
                if limit and len(recs) > limit:
                    return recs[:limit], True, (len(recs) - limit if not lsel and not fsel else None)
                return recs, False, None
            keys = self.order[res.plural] if ns is None else self.order_ns[res.plural].get(ns, [])
            i = bisect.bisect_right(keys, after) if after is not None else 0
            objs, out = self.objs[res.plural], []
            while i < len(keys) and len(out) <= limit:
                r = objs[keys[i]]
                i += 1
                if (not lsel or labels_match(lsel, r.md.get("labels") or {})) and \
                        (not fsel or fields_match(fsel, r.obj)):
                    out.append(r)
            if len(out) > limit:
                return out[:limit], True, (len(keys) - i + 1 if not lsel and not fsel else None)
            return out, False, None

    @staticmethod
    def _key(r):
        return (r.md.get("namespace") or "", r.md["name"])

    def _candidates(self, res, ns, lsel, fsel):
        """The few records an exact name or an indexed label equality allows, or None (= scan)."""
        for f, op, v in fsel:
            if f == "metadata.name" and op == "=":
                if ns is not None:
                    r = self.objs[res.plural].get((ns, v))
                    return [r] if r else []
                return [r for (n, nm), r in self.objs[res.plural].items() if nm == v]
        best = None
        li = self.labels[res.plural]
        for req in lsel:
            if req.op == "=" or (req.op == "in" and len(req.values) == 1):
                s = li.get((req.key, next(iter(req.values))), set())
                if best is None or len(s) < len(best):
                    best = s
        if best is None:
            return None
        objs = self.objs[res.plural]
        return [objs[k] for k in best if ns is None or k[0] == ns]

    def list(self, res, ns, lsel, fsel):
        """Matching records sorted by (namespace, name), and the list resourceVersion."""
        with self.lock:
            rv = self.rv
            cand = self._candidates(res, ns, lsel, fsel)
            if cand is None:
                if ns is not None:
                    cand = list(self.by_ns[res.plural].get(ns, {}).values())
                else:
                    cand = list(self.objs[res.plural].values())
            out = []
            for r in cand:
                md = r.md
                if ns is not None and md.get("namespace") != ns:
                    continue
                if lsel and not labels_match(lsel, md.get("labels") or {}):
                    continue
                if fsel and not fields_match(fsel, r.obj):
                    continue
                out.append(r)
        out.sort(key=lambda r: (r.md.get("namespace") or "", r.md["name"]))
        return out, rv

    # ------------------------------------------------------------ writes
    def create(self, res, obj, dry_run=False):
        """obj: a fresh dict owned by the store from now on. Returns the Rec."""
        with self.lock:
            md = obj["metadata"]
            ns = md.get("namespace") or ""
            if (ns, md["name"]) in self.objs[res.plural]:
                raise already_exists(res, md["name"])
            md["uid"] = new_uid()
            md["creationTimestamp"] = now_rfc3339()
            if res.crd or res is R.DEPLOYMENTS:
                md["generation"] = 1
            for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                md.pop(k, None)
            fn = self.pre_commit.get(res.plural)
            if fn:
                fn(None, obj)
            if dry_run:
                md["resourceVersion"] = str(self.rv)
                return Rec(obj, self.rv)
            rv = self._next_rv()
            md["resourceVersion"] = str(rv)
            rec = Rec(obj, rv)
            self._index_add(res, rec)
            self._order_add(res, (ns, md["name"]))
            self._emit(res, "ADDED", None, rec)
            return rec

    def update(self, res, ns, name, obj, expect_rv=None, dry_run=False, spec_keys=("spec",), on_change=None):
        """Replace the stored object by obj (a fresh dict). expect_rv: precondition (str) or None.

        Returns the new Rec (or the old one when nothing changed). Removes the object when it
        carries a deletionTimestamp and no finalizers are left."""
        with self.lock:
            old = self.objs[res.plural].get((ns or "", name))
            if old is None:
                raise not_found(res, name)
            if expect_rv is not None and str(expect_rv) != old.md["resourceVersion"]:
                raise conflict(res, name)
            md = obj.setdefault("metadata", {})
            omd = old.md
            for k in ("uid", "creationTimestamp", "name", "namespace"):
                if k in omd:
                    md[k] = omd[k]
            if "deletionTimestamp" in omd:
                md["deletionTimestamp"] = omd["deletionTimestamp"]
                md["deletionGracePeriodSeconds"] = omd.get("deletionGracePeriodSeconds", 0)
            elif "deletionTimestamp" in md and "deletionTimestamp" not in omd:
                del md["deletionTimestamp"]
                md.pop("deletionGracePeriodSeconds", None)
            if "generation" in omd:
                gen = omd["generation"]
                if any(obj.get(k) != old.obj.get(k) for k in spec_keys):
                    gen += 1
                md["generation"] = gen
            md["resourceVersion"] = omd["resourceVersion"]
            if "managedFields" not in md and "managedFields" in omd:
                md["managedFields"] = omd["managedFields"]
            fn = self.pre_commit.get(res.plural)
            if fn:
                fn(old.obj, obj)
            if obj == old.obj:
                return old
            if on_change is not None:
                on_change(old.obj, obj)
            if dry_run:
                return Rec(obj, old.rv)
            if md.get("deletionTimestamp") and not md.get("finalizers"):
                return self._remove(res, old, obj)
            rv = self._next_rv()
            md["resourceVersion"] = str(rv)
            rec = Rec(obj, rv)
            self._index_remove(res, old)
            self._index_add(res, rec)
            self._emit(res, "MODIFIED", old, rec)
            return rec

    def _remove(self, res, old, last=None):
        last = deepcopy_json(last if last is not None else old.obj)
        rv = self._next_rv()
        last["metadata"]["resourceVersion"] = str(rv)
        rec = Rec(last, rv)
        self._index_remove(res, old)
        self._order_remove(res, (old.md.get("namespace") or "", old.md["name"]))
        self._emit(res, "DELETED", old, rec)
        return rec

    def delete(self, res, ns, name, preconditions=None, extra_finalizers=(), dry_run=False):
        """Delete now, or mark for deletion when finalizers remain. Returns (rec, gone)."""
        with self.lock:
            old = self.objs[res.plural].get((ns or "", name))
            if old is None:
                raise not_found(res, name)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != old.md.get("uid"):
                raise conflict(res, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                               % (pre["uid"], old.md.get("uid")))
            if pre.get("resourceVersion") and str(pre["resourceVersion"]) != old.md.get("resourceVersion"):
                raise conflict(res, name, "Precondition failed: ResourceVersion in precondition: %s, "
                               "ResourceVersion in object meta: %s" % (pre["resourceVersion"],
                                                                       old.md.get("resourceVersion")))
            fins = list(old.md.get("finalizers") or [])
            for f in extra_finalizers:
                if f not in fins:
                    fins.append(f)
            if dry_run:
                return old, not fins
            if not fins:
                return self._remove(res, old), True
            if old.md.get("deletionTimestamp") and fins == list(old.md.get("finalizers") or []):
                return old, False
            obj = deepcopy_json(old.obj)
            md = obj["metadata"]
            md["finalizers"] = fins
            md.setdefault("deletionTimestamp", now_rfc3339())
            md["deletionGracePeriodSeconds"] = 0
            rv = self._next_rv()
            md["resourceVersion"] = str(rv)
            rec = Rec(obj, rv)
            self._index_remove(res, old)
            self._index_add(res, rec)
            self._emit(res, "MODIFIED", old, rec)
            return rec, False

    def remove_finalizer(self, res, ns, name, fin):
        with self.lock:
            old = self.objs[res.plural].get((ns or "", name))
            if old is None or fin not in (old.md.get("finalizers") or []):
                return None
            obj = deepcopy_json(old.obj)
            obj["metadata"]["finalizers"] = [f for f in obj["metadata"]["finalizers"] if f != fin]
            if not obj["metadata"]["finalizers"]:
                del obj["metadata"]["finalizers"]
            return self.update(res, ns, name, obj)

    def mutate(self, res, ns, name, fn):
        """Read-modify-write under the lock: fn(obj copy) -> None (mutates). Returns new Rec or None."""
        with self.lock:
            old = self.objs[res.plural].get((ns or "", name))
            if old is None:
                return None
            obj = deepcopy_json(old.obj)
            if fn(obj) is False:
                return old
            return self.update(res, ns, name, obj)

    # ------------------------------------------------------------ watch
    def watch(self, res, ns, lsel, fsel, rv_param, send_initial=None, bookmarks=False):
        """Register a watcher. Raises ApiError 410 when rv_param is too old."""
        w = Watcher(res, ns, lsel, fsel)
        with self.lock:
            initial = rv_param in (None, "", "0") if send_initial is None else send_initial
            if initial:
                objs, _ = self.list(res, ns, lsel, fsel)
                for r in objs:
                    w.q.put(("ADDED", r))
                if send_initial and bookmarks:
                    w.q.put(("BOOKMARK", self.rv, True))
            if rv_param not in (None, "", "0"):
                try:
                    start = int(rv_param)
                except ValueError:
                    raise ApiError(400, "BadRequest", 'invalid resource version: "%s"' % rv_param)
                hist = self.history[res.plural]
                if start < hist.compacted:
                    raise ApiError(410, "Expired", "too old resource version: %d (%d)" % (start, hist.compacted))
                if not initial:
                    for rv, etype, old, new in hist.since(start):
                        w.offer(etype, old, new)
            self.watchers[res.plural].add(w)
        return w

    def bookmark(self, w):
        with self.lock:
            if not w.closed:
                w.q.put(("BOOKMARK", self.rv, False))

    def unwatch(self, w):
        with self.lock:
            w.closed = True
            self.watchers[w.res.plural].discard(w)

    def watcher_count(self):
        with self.lock:
            return sum(len(s) for s in self.watchers.values())
