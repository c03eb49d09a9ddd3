"""The simulated CNPG operator and garbage collector: one thread, driven by store events and timers."""
import base64
import heapq
import itertools
import threading
import time
import traceback
import urllib.parse

from . import events
from . import resources as R
from .backing import BackingError
from .util import now_rfc3339

PHASE_SETUP = "Setting up primary"
PHASE_HEALTHY = "Cluster in healthy state"
PHASE_FAILED = "Cluster is unrecoverable and needs manual intervention"
PHASE_CANNOT_CREATE = "Unable to create required cluster objects"
PHASE_CREATING_REPLICA = "Creating a new replica"          # scale-up
PHASE_WAITING = "Waiting for the instances to become active"  # scale-down, storage resize
DEFAULT_IMAGE = "ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie"
PGBOUNCER_IMAGE = "ghcr.io/cloudnative-pg/pgbouncer:1.25.1"
OPERATOR_VERSION = "1.30.0"
SLOW_DELETE_FINALIZER = "kubesim.dev/slow-delete"
NS_FINALIZER = "kubernetes"
FG_FINALIZER = "foregroundDeletion"
ADDR_ANNOTATION = "kubesim.dev/address"
LOCAL_SERVER_CONDITION = "kubesim.dev/LocalServer"
CLUSTER_COMPONENT = "cloudnative-pg"          # the event recorder names CNPG uses
POOLER_COMPONENT = "cloudnative-pg-pooler"
# The Event recorded when a Cluster enters a phase: (type, reason, message; {name} and {reason} are filled).
# CreatingInstance is CNPG's own; CNPG records no event on the other transitions, kubesim does so
# that `kubectl describe` tells the whole story.
PHASE_EVENTS = {
    PHASE_SETUP: ("Normal", "CreatingInstance", "Primary instance (initdb)"),
    PHASE_HEALTHY: ("Normal", "ClusterReady", "Cluster in healthy state"),
    PHASE_FAILED: ("Warning", "ClusterUnrecoverable", "{reason}"),
    PHASE_CANNOT_CREATE: ("Warning", "CannotCreateClusterObjects", "{reason}"),
}
# The Event recorded when a Pooler enters a phase (the message is the phase reason).
POOLER_EVENTS = {"inactive": ("Warning", "ClusterNotFound"), "failed": ("Warning", "PgBouncerFailed"),
                 "active": ("Normal", "PoolerActive")}


def b64(s):
    return base64.b64encode(s.encode()).decode()


def owner_ref(obj, controller=True):
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": True}


def cluster_db(obj):
    initdb = (((obj.get("spec") or {}).get("bootstrap") or {}).get("initdb") or {})
    db = initdb.get("database") or "app"
    owner = initdb.get("owner") or db
    return db, owner


def image_major(image):
    """The PostgreSQL major of an image tag (ghcr.io/cloudnative-pg/postgresql:17.2-... -> 17)."""
    try:
        return int(image.rsplit(":", 1)[1].split(".")[0].split("-")[0])
    except (IndexError, ValueError):
        return 18


def app_secret_data(name, ns, db, user, pw):
    host = "%s-rw" % name
    qu, qp, qd = (urllib.parse.quote(x, safe="") for x in (user, pw, db))
    fq = "%s.%s.svc.cluster.local" % (host, ns)
    return {
        "username": user, "user": user, "password": pw, "dbname": db, "host": host, "port": "5432",
        "pgpass": "%s:5432:%s:%s:%s\n" % (host, db, user, pw),
        "uri": "postgresql://%s:%s@%s.%s:5432/%s" % (qu, qp, host, ns, qd),
        "jdbc-uri": "jdbc:postgresql://%s.%s:5432/%s?password=%s&user=%s" % (host, ns, qd, qp, qu),
        "fqdn-uri": "postgresql://%s:%s@%s:5432/%s" % (qu, qp, fq, qd),
        "fqdn-jdbc-uri": "jdbc:postgresql://%s:5432/%s?password=%s&user=%s" % (fq, qd, qp, qu),
    }


class ClusterState:
    def __init__(self, ns, name, uid, ready_delay):
        now = time.monotonic()
        self.ns, self.name, self.uid = ns, name, uid
        self.t_provision = now + ready_delay / 2.0
        self.t_ready = now + ready_delay
        self.initialized = False
        self.provisioned = False
        self.mark = None          # None | "failed" | "stuck" | "ready"
        self.reached_ready = False  # the never_ready/fail_clusters faults only hold back clusters not yet Ready
        self.password = None
        self.db = self.owner = None
        self.rollout_until = None   # a spec.instances/storage change is rolling out until then


class PoolerState:
    def __init__(self, ns, name, uid, delay):
        self.ns, self.name, self.uid = ns, name, uid
        self.t_ready = time.monotonic() + delay
        self.objects = False
        self.started = False
        self.addr = self.port = None
        self.mode_params = None
        self.cluster = None


class Operator:
    def __init__(self, store, faults, backing=None, ready_delay=2.0, pooler_delay=1.0, log=print):
        self.store = store
        self.faults = faults
        self.backing = backing
        self.ready_delay = ready_delay
        self.pooler_delay = pooler_delay
        self.log = log
        self.cv = threading.Condition()
        self.events = []
        self.timers = []
        self.seq = itertools.count()
        self.pending = {}
        self.clusters = {}
        self.poolers = {}
        self.poolers_of = {}         # (namespace, cluster name) -> uids of the Poolers that name it
        self.stopping = False
        self.ip_seq = itertools.count(1)
        self.thread = threading.Thread(target=self._run, name="operator", daemon=True)
        store.listeners.append(self._on_event)
        store.pre_commit[R.CLUSTERS.plural] = self._cluster_pre_commit

    def start(self):
        self.thread.start()

    def stop(self):
        with self.cv:
            self.stopping = True
            self.cv.notify()
        self.thread.join(timeout=10)

    # ------------------------------------------------------------------ plumbing
    def _on_event(self, etype, res, old, new):
        # Called under the store lock: only enqueue.
        with self.cv:
            self.events.append((etype, res, old, new))
            self.cv.notify()

    def schedule(self, kind, uid, delay=0.0):
        when = time.monotonic() + max(0.0, delay)
        with self.cv:
            cur = self.pending.get((kind, uid))
            if cur is not None and cur <= when:
                return
            self.pending[(kind, uid)] = when
            heapq.heappush(self.timers, (when, next(self.seq), kind, uid))
            self.cv.notify()

    def call_later(self, delay, fn, *args):
        when = time.monotonic() + max(0.0, delay)
        with self.cv:
            heapq.heappush(self.timers, (when, next(self.seq), "call", (fn, args)))
            self.cv.notify()

    def _run(self):
        while True:
            with self.cv:
                while not self.stopping and not self.events and \
                        (not self.timers or self.timers[0][0] > time.monotonic()):
                    timeout = None
                    if self.timers:
                        timeout = max(0.0, self.timers[0][0] - time.monotonic())
                    self.cv.wait(timeout)
                if self.stopping:
                    return
                events, self.events = self.events, []
                due = []
                now = time.monotonic()
                while self.timers and self.timers[0][0] <= now:
                    when, _, kind, arg = heapq.heappop(self.timers)
                    if kind == "call":
                        due.append((kind, arg))
                    elif self.pending.get((kind, arg)) == when:
                        del self.pending[(kind, arg)]
                        due.append((kind, arg))
            for ev in events:
                self._guard(self._handle_event, *ev)
            for kind, arg in due:
                if kind == "call":
                    self._guard(arg[0], *arg[1])
                elif kind == "cluster":
                    self._guard(self._reconcile_cluster, arg)
                elif kind == "pooler":
                    self._guard(self._reconcile_pooler, arg)
                elif kind == "gc":
                    self._guard(self._gc, arg)
                elif kind == "ns":
                    self._guard(self._finalize_namespace, arg)

    def _guard(self, fn, *args):
        try:
            fn(*args)
        except Exception:
            self.log("kubesim: operator error in %s: %s" % (fn.__name__, traceback.format_exc()))

    # ------------------------------------------------------------------ events
    def _handle_event(self, etype, res, old, new):
        md = new.obj["metadata"]
        uid = md.get("uid")
        if etype == "DELETED":
            self._gc(uid)
        elif md.get("deletionTimestamp") and FG_FINALIZER in (md.get("finalizers") or []):
            self._gc(uid)
        # a dependent went away: its owner may be waiting for foreground deletion
        if etype == "DELETED":
            for ref in md.get("ownerReferences") or []:
                key = self.store.uids.get(ref.get("uid"))
                if key:
                    self.schedule("gc", ref.get("uid"), 0)
        if res is R.CLUSTERS:
            if etype == "ADDED":
                st = self.clusters.get(uid)
                if st is None:
                    st = self.clusters[uid] = ClusterState(md.get("namespace"), md["name"], uid, self.ready_delay)
                self.schedule("cluster", uid, 0)
                for puid in self.poolers_of.get((st.ns, st.name), ()):
                    self.schedule("pooler", puid, 0)
            elif etype == "MODIFIED":
                if old is not None and old.obj.get("spec") != new.obj.get("spec"):
                    self._rollout_event(old.obj, new.obj)
                    self.schedule("cluster", uid, 0)
            elif etype == "DELETED":
                st = self.clusters.pop(uid, None)
                if st is not None and st.provisioned and self.backing is not None:
                    try:
                        self.backing.release_database(uid)
                    except BackingError as e:
                        self.log("kubesim: dropping database of %s/%s: %s" % (st.ns, st.name, e))
        elif res is R.POOLERS:
            if etype == "ADDED":
                ps = self.poolers[uid] = PoolerState(md.get("namespace"), md["name"], uid, self.pooler_delay)
                ps.cluster = ((new.obj.get("spec") or {}).get("cluster") or {}).get("name")  # immutable
                self.poolers_of.setdefault((ps.ns, ps.cluster), set()).add(uid)
                self.schedule("pooler", uid, 0)
            elif etype == "MODIFIED":
                if old is not None and old.obj.get("spec") != new.obj.get("spec"):
                    self.schedule("pooler", uid, 0)
            elif etype == "DELETED":
                ps = self.poolers.pop(uid, None)
                if ps is not None:
                    self.poolers_of.get((ps.ns, ps.cluster), set()).discard(uid)
                    if not self.poolers_of.get((ps.ns, ps.cluster), True):
                        del self.poolers_of[(ps.ns, ps.cluster)]
                if self.backing is not None:
                    self.backing.stop_pooler(uid)
        elif res is R.SECRETS:
            if etype == "MODIFIED":
                self._app_secret_changed(new.obj)
        elif res is R.NAMESPACES:
            if etype == "MODIFIED" and md.get("deletionTimestamp"):
                self.schedule("ns", md["name"], 0)

    # ------------------------------------------------------------------ garbage collection
    def _gc(self, uid):
        """Delete dependents of a deleted owner (or of an owner in foreground deletion)."""
        if not uid:
            return
        owner_alive = self.store.uid_exists(uid)
        if owner_alive:
            key = self.store.uids.get(uid)
            orec = self.store.get(next(r for r in R.ALL if r.plural == key[0]), key[1], key[2]) if key else None
            if orec is None or not orec.md.get("deletionTimestamp") or \
                    FG_FINALIZER not in (orec.md.get("finalizers") or []):
                return
        deps = self.store.dependents(uid)
        remaining = 0
        for plural, ns, name in deps:
            res = next(r for r in R.ALL if r.plural == plural)
            rec = self.store.get(res, ns, name)
            if rec is None:
                continue
            refs = rec.md.get("ownerReferences") or []
            if not owner_alive:
                others = [r for r in refs if r.get("uid") != uid and self.store.uid_exists(r.get("uid"))]
                if others:
                    self.store.mutate(res, ns, name, lambda o: o["metadata"].__setitem__(
                        "ownerReferences", [r for r in o["metadata"].get("ownerReferences") or []
                                            if r.get("uid") != uid]))
                    continue
            remaining += 1
            if not rec.md.get("deletionTimestamp"):
                try:
                    self.store.delete(res, ns, name)
                except Exception:
                    pass
        if owner_alive:
            key = self.store.uids.get(uid)
            if key and not any(self.store.get(next(r for r in R.ALL if r.plural == p), n, m)
                               for p, n, m in self.store.dependents(uid)):
                res = next(r for r in R.ALL if r.plural == key[0])
                self.store.remove_finalizer(res, key[1], key[2], FG_FINALIZER)

    def _finalize_namespace(self, name):
        rec = self.store.get(R.NAMESPACES, "", name)
        if rec is None or not rec.md.get("deletionTimestamp"):
            return
        left = 0
        for res in R.ALL:
            if not res.namespaced:
                continue
            objs, _ = self.store.list(res, name, [], [])
            for o in objs:
                left += 1
                if not o.md.get("deletionTimestamp"):
                    try:
                        self.store.delete(res, name, o.md["name"])
                    except Exception:
                        pass
        if left:
            objs_left = sum(len(self.store.list(r, name, [], [])[0]) for r in R.ALL if r.namespaced)
            if objs_left:
                self.schedule("ns", name, 0.2)
                return
        self.store.remove_finalizer(R.NAMESPACES, "", name, NS_FINALIZER)

    def remove_finalizer_later(self, res, ns, name, uid, fin, delay):
        def go():
            rec = self.store.get(res, ns, name)
            if rec is not None and rec.md.get("uid") == uid:
                self.store.remove_finalizer(res, ns, name, fin)
        self.call_later(delay, go)

    # ------------------------------------------------------------------ clusters
    def _cluster_pre_commit(self, old, new):
        """Keep status.observedGeneration in step with spec in the same write, and start the rollout
        of a healthy Cluster whose spec.instances or spec.storage.size changes in that write too."""
        st = new.get("status")
        if not isinstance(st, dict) or not st:
            return
        gen = new["metadata"].get("generation")
        if gen is not None:
            st["observedGeneration"] = gen
        if old is not None and st.get("phase") == PHASE_HEALTHY:
            self._start_rollout(old, new, st)

    def _start_rollout(self, old, new, st):
        ospec, spec = old.get("spec") or {}, new.get("spec") or {}
        oinst, inst = ospec.get("instances", 1), spec.get("instances", 1)
        osize, size = (ospec.get("storage") or {}).get("size"), (spec.get("storage") or {}).get("size")
        if not isinstance(inst, int) or (oinst == inst and osize == size):
            return
        name = new["metadata"]["name"]
        if inst > oinst:
            phase, reason = PHASE_CREATING_REPLICA, "Creating instance %s-%d" % (name, oinst + 1)
        elif inst < oinst:
            phase, reason = PHASE_WAITING, "Removing instance %s-%d" % (name, oinst)
        else:
            phase, reason = PHASE_WAITING, "Resizing the volumes to %s" % size
        names = ["%s-%d" % (name, i + 1) for i in range(inst)]
        st.update({"phase": phase, "phaseReason": reason, "instances": inst,
                   "readyInstances": min(st.get("readyInstances", oinst), inst), "instanceNames": names,
                   "latestGeneratedNode": max(inst, st.get("latestGeneratedNode", 0))})
        st["conditions"] = [self._ready_condition(st.get("conditions"), False)] + \
            [c for c in st.get("conditions") or [] if c.get("type") != "Ready"]
        cs = self.clusters.get(new["metadata"].get("uid"))
        if cs is not None:
            cs.rollout_until = time.monotonic() + self.ready_delay

    def _local_server_condition(self, spec):
        """kubesim's own condition: which PostgreSQL really serves the Cluster. With backing, one
        local server of its own major serves every Cluster, whatever major the image names."""
        if self.backing is None or self.backing.server_major is None:
            return []
        want = image_major(spec.get("imageName") or DEFAULT_IMAGE)
        have = self.backing.server_major
        return [{"type": LOCAL_SERVER_CONDITION, "status": "True" if want == have else "False",
                 "reason": "SameMajorVersion" if want == have else "DifferentMajorVersion",
                 "message": "PostgreSQL %s answers (kubesim's local server); the Cluster asks for PostgreSQL %d"
                            % (self.backing.server_version.split()[0], want),
                 "lastTransitionTime": now_rfc3339()}]

    @staticmethod
    def _ready_condition(conditions, ready):
        """CNPG's Ready condition; lastTransitionTime moves only when the status flips."""
        old = next((c for c in conditions or [] if c.get("type") == "Ready"), None)
        status = "True" if ready else "False"
        return {"type": "Ready", "status": status,
                "reason": "ClusterIsReady" if ready else "ClusterIsNotReady",
                "message": "Cluster is Ready" if ready else "Cluster Is Not Ready",
                "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == status
                else now_rfc3339()}

    def _set_cluster_status(self, st, phase, reason, ready):
        def fn(o):
            name = o["metadata"]["name"]
            spec = o.get("spec") or {}
            inst = spec.get("instances", 1) if isinstance(spec.get("instances", 1), int) else 1
            s = o.get("status") or {}
            names = ["%s-%d" % (name, i + 1) for i in range(inst)]
            s.update({
                "phase": phase, "phaseReason": reason,
                "instances": inst,
                "readyInstances": inst if ready else 0,
                "currentPrimary": "%s-1" % name if ready else s.get("currentPrimary", ""),
                "targetPrimary": "%s-1" % name,
                "writeService": "%s-rw" % name, "readService": "%s-r" % name,
                "image": spec.get("imageName") or DEFAULT_IMAGE,
                "latestGeneratedNode": inst,
                "instanceNames": names,
                "conditions": [self._ready_condition(s.get("conditions"), ready)] + self._local_server_condition(spec),
                "pgDataImageInfo": {"image": spec.get("imageName") or DEFAULT_IMAGE,
                                    "majorVersion": image_major(spec.get("imageName") or DEFAULT_IMAGE)},
            })
            if not s.get("currentPrimary"):
                s.pop("currentPrimary", None)
            if ready:
                s["instancesStatus"] = {"healthy": names}
            else:
                s["instancesStatus"] = {"failed": names} if phase == PHASE_FAILED else {}
            s["observedGeneration"] = o["metadata"].get("generation", 1)
            o["status"] = s
        old = self._cluster_rec(st)
        old_phase = ((old.obj.get("status") or {}).get("phase") if old else None)
        self._phase_event(self.store.mutate(R.CLUSTERS, st.ns, st.name, fn), old_phase, phase, reason)

    def record_event(self, obj, etype, reason, message, component=CLUSTER_COMPONENT):
        """A core v1 Event about obj, as CNPG's event recorder writes it."""
        try:
            self.store.create(R.EVENTS, events.core_event(obj, etype, reason, message, component, now_rfc3339()))
        except Exception as e:      # the namespace is going away: the event does not matter
            self.log("kubesim: event %s for %s: %s" % (reason, obj["metadata"]["name"], e))

    def _phase_event(self, rec, old_phase, phase, reason):
        if rec is None or old_phase == phase or phase not in PHASE_EVENTS:
            return
        etype, ereason, msg = PHASE_EVENTS[phase]
        self.record_event(rec.obj, etype, ereason, msg.format(name=rec.md["name"], reason=reason))

    def _rollout_event(self, old, new):
        """The event of a rollout that _start_rollout began in the write of the spec change."""
        phase = (new.get("status") or {}).get("phase")
        if (old.get("status") or {}).get("phase") == PHASE_HEALTHY and phase in (PHASE_CREATING_REPLICA, PHASE_WAITING):
            reason = "CreatingInstance" if phase == PHASE_CREATING_REPLICA else "RollingOut"
            self.record_event(new, "Normal", reason, new["status"].get("phaseReason", phase))

    def _cluster_rec(self, st):
        rec = self.store.get(R.CLUSTERS, st.ns, st.name)
        if rec is None or rec.md.get("uid") != st.uid:
            return None
        return rec

    def mark_cluster(self, ns, name, action):
        """Runtime control from the admin endpoint: fail, stuck, ready or reset."""
        rec = self.store.get(R.CLUSTERS, ns, name)
        if rec is None:
            return False
        uid = rec.md["uid"]
        # The cluster state may not exist yet if the ADDED event is still queued.
        st = self.clusters.get(uid)
        if st is None:
            st = self.clusters[uid] = ClusterState(ns, name, uid, self.ready_delay)
        st.mark = None if action == "reset" else {"fail": "failed", "stuck": "stuck", "ready": "ready"}[action]
        self.schedule("cluster", uid, 0)
        return True

    def resync(self):
        for uid in list(self.clusters):
            self.schedule("cluster", uid, 0)
        for uid in list(self.poolers):
            self.schedule("pooler", uid, 0)

    def _reconcile_cluster(self, uid):
        st = self.clusters.get(uid)
        if st is None:
            return
        rec = self._cluster_rec(st)
        if rec is None or rec.md.get("deletionTimestamp"):
            return
        now = time.monotonic()
        status = rec.obj.get("status") or {}
        if not st.initialized or not status.get("phase"):
            st.initialized = True
            self._set_cluster_status(st, PHASE_SETUP, "Creating primary instance %s-1" % st.name, False)
        if st.mark == "failed":
            self._ensure_phase(st, PHASE_FAILED, "kubesim: cluster marked failed", False)
            return
        if st.mark == "stuck":
            self._ensure_phase(st, PHASE_SETUP, "Creating primary instance %s-1" % st.name, False)
            return
        forced = st.mark == "ready"
        if not st.provisioned:
            if now < st.t_provision and not forced:
                self.schedule("cluster", uid, st.t_provision - now)
                return
            try:
                self._provision(st, rec)
            except BackingError as e:
                self.log("kubesim: provisioning %s/%s failed: %s" % (st.ns, st.name, e))
                self._ensure_phase(st, PHASE_CANNOT_CREATE, str(e), False)
                self.schedule("cluster", uid, 5.0)
                return
        if st.rollout_until is not None and not forced:
            if now < st.rollout_until:
                self.schedule("cluster", uid, st.rollout_until - now)
                return
            st.rollout_until = None
        if forced or st.reached_ready:
            self._ensure_phase(st, PHASE_HEALTHY, "", True)
            st.reached_ready = True
            return
        if now < st.t_ready:
            self.schedule("cluster", uid, st.t_ready - now)
            return
        if self.faults.fail_for(st.ns, st.name):
            self._ensure_phase(st, PHASE_FAILED, "Instance creation failed for the following jobs: %s-1-initdb "
                               "(kubesim fault fail_clusters)" % st.name, False)
            return
        if self.faults.never_ready_for(st.ns, st.name):
            self._ensure_phase(st, PHASE_SETUP, "Creating primary instance %s-1" % st.name, False)
            return
        self._ensure_phase(st, PHASE_HEALTHY, "", True)
        st.reached_ready = True

    def _ensure_phase(self, st, phase, reason, ready):
        rec = self._cluster_rec(st)
        if rec is None:
            return
        s = rec.obj.get("status") or {}
        if s.get("phase") == phase and s.get("phaseReason", "") == reason:
            return
        self._set_cluster_status(st, phase, reason, ready)

    def _provision(self, st, rec):
        obj = rec.obj
        db, owner = cluster_db(obj)
        if self.backing is not None:
            pw = self.backing.ensure_database(st.uid, db, owner)
        else:
            from .util import random_alnum
            pw = random_alnum(64)
        st.db, st.owner, st.password = db, owner, pw
        st.provisioned = True
        inherited = (obj.get("spec") or {}).get("inheritedMetadata") or {}
        ilabels = dict(inherited.get("labels") or {})
        iann = dict(inherited.get("annotations") or {})
        ref = owner_ref(obj)
        ns, name = st.ns, st.name
        sec_labels = dict(ilabels)
        sec_labels.update({"cnpg.io/cluster": name, "cnpg.io/userType": "app", "cnpg.io/reload": "true",
                           "app.kubernetes.io/managed-by": "cloudnative-pg"})
        ann = dict(iann)
        ann["cnpg.io/operatorVersion"] = OPERATOR_VERSION
        data = app_secret_data(name, ns, db, owner, pw)
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": "%s-app" % name, "namespace": ns, "labels": sec_labels,
                               "annotations": ann, "ownerReferences": [ref]},
                  "type": "kubernetes.io/basic-auth",
                  "data": {k: b64(v) for k, v in data.items()}}
        self._create_or_skip(R.SECRETS, secret)
        major = image_major((obj.get("spec") or {}).get("imageName") or DEFAULT_IMAGE)
        for suffix, sel in (("rw", {"cnpg.io/cluster": name, "cnpg.io/instanceRole": "primary"}),
                            ("ro", {"cnpg.io/cluster": name, "cnpg.io/instanceRole": "replica"}),
                            ("r", {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"})):
            labels = dict(ilabels)
            labels.update({"cnpg.io/cluster": name, "app.kubernetes.io/name": "postgresql",
                           "app.kubernetes.io/instance": name, "app.kubernetes.io/version": str(major),
                           "app.kubernetes.io/component": "database",
                           "app.kubernetes.io/managed-by": "cloudnative-pg"})
            svc = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "%s-%s" % (name, suffix), "namespace": ns, "labels": labels,
                                "annotations": dict(ann), "ownerReferences": [ref]},
                   "spec": {"type": "ClusterIP", "clusterIP": self.next_cluster_ip(),
                            "ports": [{"name": "postgres", "protocol": "TCP", "port": 5432, "targetPort": 5432}],
                            "selector": sel, "sessionAffinity": "None"},
                   "status": {"loadBalancer": {}}}
            if self.backing is not None:
                # Publish the real PostgreSQL address, like a LoadBalancer Service would.
                svc["spec"]["type"] = "LoadBalancer"
                svc["spec"]["ports"][0]["port"] = int(self.backing.port)
                svc["metadata"]["annotations"][ADDR_ANNOTATION] = "%s:%s" % (self.backing.host, self.backing.port)
                svc["status"] = {"loadBalancer": {"ingress": [{"ip": self.backing.host}]}}
            self._create_or_skip(R.SERVICES, svc)

    def _app_secret_changed(self, secret):
        """A new `password` in a Cluster's -app Secret becomes the role's password."""
        md = secret["metadata"]
        cname = (md.get("labels") or {}).get("cnpg.io/cluster")
        if not cname or md["name"] != cname + "-app":
            return
        crec = self.store.get(R.CLUSTERS, md["namespace"], cname)
        st = self.clusters.get(crec.md["uid"]) if crec is not None else None
        if st is None or not st.provisioned:
            return
        try:
            pw = base64.b64decode((secret.get("data") or {}).get("password") or "").decode()
        except (ValueError, UnicodeDecodeError):
            pw = ""
        if not pw or pw == st.password:
            return
        if self.backing is not None:
            try:
                self.backing.set_password(st.owner, pw)
            except BackingError as e:
                self.record_event(crec.obj, "Warning", "SecretPasswordNotApplied", str(e))
                return
        st.password = pw
        self.record_event(crec.obj, "Normal", "SecretPasswordApplied",
                          "the password of role %s was changed from Secret %s" % (st.owner, md["name"]))

    def _create_or_skip(self, res, obj):
        try:
            self.store.create(res, obj)
        except Exception as e:
            if getattr(e, "reason", None) != "AlreadyExists":
                raise

    def next_cluster_ip(self):
        n = next(self.ip_seq)
        return "10.96.%d.%d" % ((n // 250) % 250, n % 250 + 1)

    # ------------------------------------------------------------------ poolers
    def _reconcile_pooler(self, uid):
        st = self.poolers.get(uid)
        if st is None:
            return
        rec = self.store.get(R.POOLERS, st.ns, st.name)
        if rec is None or rec.md.get("uid") != uid or rec.md.get("deletionTimestamp"):
            return
        obj = rec.obj
        spec = obj.get("spec") or {}
        inst = spec.get("instances", 1)
        if not isinstance(inst, int):
            inst = 1
        cname = (spec.get("cluster") or {}).get("name")
        if not st.objects:
            self._create_pooler_objects(obj, inst)
            st.objects = True
        cluster = self.store.get(R.CLUSTERS, st.ns, cname) if cname else None
        if cluster is None:
            self._pooler_status(st, "inactive", 'Cluster "%s" not found' % cname, 0)
            return
        now = time.monotonic()
        if now < st.t_ready:
            self._pooler_status(st, "active", "", inst)
            self.schedule("pooler", uid, st.t_ready - now)
            return
        pgb = spec.get("pgbouncer") or {}
        mode = pgb.get("poolMode") or "session"
        params = pgb.get("parameters") or {}
        if self.backing is not None:
            if not st.started or not self.backing.pooler_alive(uid):
                try:
                    addr, port = self.backing.start_pooler(uid, "%s.%s.%s" % (st.ns, st.name, uid[:8]), mode, params)
                except BackingError as e:
                    self.log("kubesim: %s" % e)
                    self._pooler_status(st, "failed", str(e), inst)
                    self.schedule("pooler", uid, 5.0)
                    return
                st.started = True
                st.addr, st.port = addr, port
                st.mode_params = (mode, dict(params))
                self._publish(st)
            elif st.mode_params != (mode, dict(params)):
                self.backing.reload_pooler(uid, mode, params)
                st.mode_params = (mode, dict(params))
        if self._deployment_ready(st, inst):
            where = " at %s:%d" % (st.addr, st.port) if st.addr else ""
            self.record_event(rec.obj, "Normal", "PgBouncerReady", "%d PgBouncer instance(s) ready%s" % (inst, where),
                              POOLER_COMPONENT)
        self._pooler_status(st, "active", "", inst)

    def _create_pooler_objects(self, obj, inst):
        md = obj["metadata"]
        ns, name = md["namespace"], md["name"]
        spec = obj.get("spec") or {}
        cname = (spec.get("cluster") or {}).get("name", "")
        ref = owner_ref(obj)
        pod_labels = {"cnpg.io/poolerName": name, "cnpg.io/podRole": "pooler", "cnpg.io/cluster": cname}
        image = (spec.get("pgbouncer") or {}).get("image") or PGBOUNCER_IMAGE
        dep = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": ns, "labels": {"cnpg.io/poolerName": name},
                            "annotations": {"cnpg.io/operatorVersion": OPERATOR_VERSION},
                            "ownerReferences": [ref]},
               "spec": {"replicas": inst, "selector": {"matchLabels": {"cnpg.io/poolerName": name}},
                        "strategy": {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                        "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                        "template": {"metadata": {"labels": pod_labels},
                                     "spec": {"restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                                              "schedulerName": "default-scheduler",
                                              "terminationGracePeriodSeconds": 30,
                                              "containers": [{"name": "pgbouncer", "image": image,
                                                              "ports": [{"name": "pgbouncer", "containerPort": 5432,
                                                                         "protocol": "TCP"},
                                                                        {"name": "metrics", "containerPort": 9127,
                                                                         "protocol": "TCP"}]}]}}},
               "status": {"replicas": inst, "readyReplicas": 0, "availableReplicas": 0, "updatedReplicas": inst,
                          "unavailableReplicas": inst, "observedGeneration": 1,
                          "conditions": [{"type": "Available", "status": "False",
                                          "reason": "MinimumReplicasUnavailable",
                                          "message": "Deployment does not have minimum availability.",
                                          "lastUpdateTime": now_rfc3339(), "lastTransitionTime": now_rfc3339()}]}}
        self._create_or_skip(R.DEPLOYMENTS, dep)
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": ns, "labels": {"cnpg.io/poolerName": name},
                            "annotations": {"cnpg.io/operatorVersion": OPERATOR_VERSION},
                            "ownerReferences": [ref]},
               "spec": {"type": "ClusterIP", "clusterIP": self.next_cluster_ip(),
                        "ports": [{"name": "pgbouncer", "protocol": "TCP", "port": 5432, "targetPort": "pgbouncer"}],
                        "selector": {"cnpg.io/poolerName": name}, "sessionAffinity": "None"},
               "status": {"loadBalancer": {}}}
        st_tpl = ((spec.get("serviceTemplate") or {}).get("spec") or {})
        if st_tpl.get("type") in ("LoadBalancer", "NodePort"):
            svc["spec"]["type"] = st_tpl["type"]
        self._create_or_skip(R.SERVICES, svc)

    def _publish(self, st):
        def fn(o):
            spec = o.setdefault("spec", {})
            spec["type"] = "LoadBalancer"
            ports = spec.setdefault("ports", [])
            p = next((p for p in ports if p.get("name") == "pgbouncer"), None)
            if p is None:
                p = {"name": "pgbouncer", "protocol": "TCP", "targetPort": "pgbouncer"}
                ports.insert(0, p)
            p["port"] = st.port
            o["metadata"].setdefault("annotations", {})[ADDR_ANNOTATION] = "%s:%d" % (st.addr, st.port)
            o["status"] = {"loadBalancer": {"ingress": [{"ip": st.addr}]}}
        self.store.mutate(R.SERVICES, st.ns, st.name, fn)

    def _deployment_ready(self, st, inst):
        """Marks the Pooler's Deployment ready; True when that changed it."""
        def fn(o):
            s = o.get("status") or {}
            want = {"replicas": inst, "readyReplicas": inst, "availableReplicas": inst, "updatedReplicas": inst,
                    "observedGeneration": o["metadata"].get("generation", 1)}
            if o.get("spec", {}).get("replicas") == inst and all(s.get(k) == v for k, v in want.items()):
                return False
            o.setdefault("spec", {})["replicas"] = inst
            s.update(want)
            s.pop("unavailableReplicas", None)
            s["conditions"] = [{"type": "Available", "status": "True" if inst > 0 else "False",
                                "reason": "MinimumReplicasAvailable",
                                "message": "Deployment has minimum availability.",
                                "lastUpdateTime": now_rfc3339(), "lastTransitionTime": now_rfc3339()}]
            o["status"] = s
        before = self.store.get(R.DEPLOYMENTS, st.ns, st.name)
        after = self.store.mutate(R.DEPLOYMENTS, st.ns, st.name, fn)
        return after is not None and after is not before

    def _pooler_status(self, st, phase, reason, inst):
        old = self.store.get(R.POOLERS, st.ns, st.name)
        old_phase = (old.obj.get("status") or {}).get("phase") if old is not None else None
        rec = self._set_pooler_status(st, phase, reason, inst)
        if rec is not None and phase != old_phase and phase in POOLER_EVENTS:
            etype, ereason = POOLER_EVENTS[phase]
            self.record_event(rec.obj, etype, ereason, reason or "Pooler is active", POOLER_COMPONENT)

    def _set_pooler_status(self, st, phase, reason, inst):
        def fn(o):
            s = o.get("status") or {}
            want = {"phase": phase, "instances": inst}
            if reason:
                want["phaseReason"] = reason
            if all(s.get(k) == v for k, v in want.items()) and (reason or "phaseReason" not in s):
                return False
            s.update(want)
            if not reason:
                s.pop("phaseReason", None)
            o["status"] = s
        return self.store.mutate(R.POOLERS, st.ns, st.name, fn)
