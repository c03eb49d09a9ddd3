"""Helpers of the chaos tests (Python 3 standard library only): kubesim with
faults, daap-server processes that can be SIGKILLed and restarted on the
same port, a throwaway PostgreSQL, a watch that counts how often each
Cluster and Pooler was created, and the end-state checks done the way an
operator would do them: through the API and with kubectl, never by reading
the store or the server's memory."""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

SOURCE_DIR = os.environ.get("DAAP_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import testports  # noqa: E402  (tests/support, on the path just above)
SERVER_BIN = os.environ.get("DAAP_SERVER_BIN", "")
KUBESIM_DIR = os.path.join(SOURCE_DIR, "tools", "kubesim")
PGTMP = os.path.join(SOURCE_DIR, "scripts", "pgtmp")
CNPG = "/apis/postgresql.cnpg.io/v1"
NAMESPACE = "daap"
SELECTOR = "app.kubernetes.io/managed-by=daap"
ID_LABEL = "daap.dev/database-id"


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v else default


def say(*a):
    print("[chaos %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def wait_for(pred, timeout, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


def work_dir(prefix):
    base = os.environ.get("DAAP_TEST_WORK_DIR") or tempfile.gettempdir()
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    os.chmod(d, 0o755)  # PostgreSQL runs as the postgres user and must traverse it
    return d


def free_port():
    """A free loopback port, from DAAP_TEST_PORT_BASE's range when it is set (tests/support/testports.py)."""
    return testports.free_port()


# ------------------------------------------------------------------ results

RESULTS_DIR = os.environ.get("CHAOS_RESULTS_DIR") or os.path.join(
    os.environ.get("DAAP_BUILD_DIR") or tempfile.gettempdir(), "chaos-results")
# The figures of every scenario, in the order tests/chaos/summary.py prints them.
FIGURES = ("faults_injected", "kills_survived", "orphans", "lost_acked_writes", "duplicates",
           "acked_creates", "acked_deletes", "settle_s")


class Results:
    """The summary figures of one scenario. Written to RESULTS_DIR/<scenario>.json when the test
    ends, whether it passed or failed, so that `make test-chaos` and `make test-chaos-full` can
    print every scenario's figures (tests/chaos/summary.py), not only a failing one's log. A
    figure never measured stays null and prints as "-"."""

    def __init__(self, scenario, sim=None):
        self.scenario = scenario
        self.sim = sim
        self.outcome = "FAIL"
        self.figures = dict.fromkeys(FIGURES)
        self.faults = {}
        self.notes = []

    def record(self, **figures):
        unknown = set(figures) - set(FIGURES)
        assert not unknown, "unknown figure(s) %s" % sorted(unknown)
        self.figures.update(figures)

    def add_faults(self, what, n=1):
        """Faults the test injected itself (a SIGKILL is a fault too; kills_survived says how many
        the server came back from)."""
        self.faults[what] = self.faults.get(what, 0) + n

    def note(self, text):
        self.notes.append(text)

    def passed(self):
        self.outcome = "pass"

    def _kubesim_faults(self):
        """What kubesim says it injected (errors, watch drops, 410s); {} when it cannot be asked."""
        if self.sim is None:
            return {}
        try:
            return {"kubesim " + k: v for k, v in (self.sim.stats() or {}).get("injected", {}).items()}
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            return {}

    def write(self):
        faults = dict(self.faults)
        faults.update(self._kubesim_faults())
        doc = dict(self.figures, scenario=self.scenario, outcome=self.outcome, faults=faults,
                   notes=self.notes)
        doc["faults_injected"] = sum(faults.values())
        os.makedirs(RESULTS_DIR, exist_ok=True)
        path = os.path.join(RESULTS_DIR, self.scenario + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
        os.replace(path + ".tmp", path)
        say("results: %s %s" % (self.outcome, json.dumps({k: doc[k] for k in FIGURES})))


def skip_unless_built():
    if not SERVER_BIN or not os.path.exists(SERVER_BIN):
        raise unittest.SkipTest("daap-server not built (DAAP_SERVER_BIN)")


# ------------------------------------------------------------------ kubesim

class Kubesim:
    def __init__(self, state, ready_delay=0.5, pooler_delay=0.3, extra=()):
        self.state = state
        os.makedirs(state, exist_ok=True)
        os.chmod(state, 0o755)
        self.access_log = os.path.join(state, "access.log")
        argv = [os.path.join(KUBESIM_DIR, "kubesim-up"), state, "--no-backing", "--ready-delay", str(ready_delay),
                "--pooler-delay", str(pooler_delay), "--access-log", self.access_log] + list(extra)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            self.stop()
            raise RuntimeError("kubesim-up failed: %s %s" % (out.stdout, out.stderr))
        self.kubeconfig = out.stdout.strip().splitlines()[-1]
        with open(os.path.join(state, "url")) as f:
            self.url = f.read().strip()
        with open(os.path.join(state, "token")) as f:
            self.token = f.read().strip()
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port
        self.cache_dir = tempfile.mkdtemp(prefix="kubectl-cache-", dir=state)

    def stop(self):
        subprocess.run([os.path.join(KUBESIM_DIR, "kubesim-down"), self.state], capture_output=True, timeout=120)

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.state, "pki", "ca.crt"))
        ctx.check_hostname = False
        return ctx

    def call(self, method, path, body=None, timeout=30):
        c = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.ssl_context())
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        finally:
            c.close()

    def faults(self, **doc):
        st, body = self.call("PUT", "/kubesim/faults", doc)
        assert st == 200, body
        return body

    def clear_faults(self):
        st, body = self.call("DELETE", "/kubesim/faults")
        assert st == 200, body

    def stats(self):
        return self.call("GET", "/kubesim/stats")[1]

    def kubectl(self, *args):
        """kubectl ... -o json, parsed; retried, since faults may be on."""
        argv = ["kubectl", "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache_dir, "--request-timeout", "20s"] + \
            list(args) + ["-o", "json"]
        last = None
        for _ in range(10):
            out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            if out.returncode == 0:
                return json.loads(out.stdout)
            last = out.stderr
            time.sleep(0.5)
        raise AssertionError("kubectl %s failed: %s" % (" ".join(args), last))

    def daap_objects(self, kind):
        """{name: database-id label} of every daap-labelled object of a kind, via kubectl."""
        doc = self.kubectl("get", kind, "-n", NAMESPACE, "-l", SELECTOR)
        return {o["metadata"]["name"]: (o["metadata"].get("labels") or {}).get(ID_LABEL) for o in doc["items"]}

    def successful_creates(self, plural):
        """How many POSTs of this collection kubesim answered 201 (its access log)."""
        path = "%s/namespaces/%s/%s" % (CNPG, NAMESPACE, plural)
        n = 0
        with open(self.access_log) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and parts[1] == "POST" and parts[2].split("?")[0] == path and parts[3] == "201":
                    n += 1
        return n


class CreationCounter:
    """A watch of its own on Clusters and Poolers: counts ADDED events per
    name, so an object deleted and made again (double provisioning) shows
    up even when it is gone by the end. Survives injected watch drops and
    errors by resuming from the last resourceVersion."""

    def __init__(self, sim, plurals=("clusters", "poolers")):
        self.sim = sim
        self.added = {p: {} for p in plurals}
        self.stop_ev = threading.Event()
        self.ready = {p: threading.Event() for p in plurals}
        self.threads = [threading.Thread(target=self._run, args=(p,), daemon=True) for p in plurals]
        for t in self.threads:
            t.start()
        for p in plurals:
            if not self.ready[p].wait(30):
                raise AssertionError("watch on %s did not start" % p)

    def _run(self, plural):
        rv = None
        path = "%s/namespaces/%s/%s" % (CNPG, NAMESPACE, plural)
        while not self.stop_ev.is_set():
            try:
                if rv is None:
                    st, body = self.sim.call("GET", path)
                    if st != 200:
                        time.sleep(0.2)
                        continue
                    rv = body["metadata"]["resourceVersion"]
                    for o in body["items"]:
                        self.added[plural].setdefault(o["metadata"]["name"], 1)
                    self.ready[plural].set()
                c = http.client.HTTPSConnection(self.sim.host, self.sim.port, timeout=3600,
                                                context=self.sim.ssl_context())
                c.request("GET", path + "?watch=true&resourceVersion=" + rv,
                          headers={"Authorization": "Bearer " + self.sim.token})
                r = c.getresponse()
                if r.status != 200:
                    r.read()
                    c.close()
                    if r.status == 410:
                        raise AssertionError("creation counter on %s lost events (410)" % plural)
                    time.sleep(0.2)
                    continue
                while not self.stop_ev.is_set():
                    line = r.readline()
                    if not line:
                        break
                    ev = json.loads(line)
                    if ev.get("type") == "ERROR":
                        raise AssertionError("creation counter on %s: %s" % (plural, ev))
                    md = (ev.get("object") or {}).get("metadata") or {}
                    if md.get("resourceVersion"):
                        rv = md["resourceVersion"]
                    if ev.get("type") == "ADDED":
                        self.added[plural][md["name"]] = self.added[plural].get(md["name"], 0) + 1
                c.close()
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.2)

    def duplicates(self):
        return {p: {n: c for n, c in d.items() if c > 1} for p, d in self.added.items()}

    def duplicate_count(self):
        """How many extra creations there were, over every kind (0 when each object was made once)."""
        return sum(c - 1 for d in self.added.values() for c in d.values() if c > 1)

    def stop(self):
        self.stop_ev.set()


# ------------------------------------------------------------------ daap-server

class Server:
    """A daap-server that can be killed and started again on the same port."""

    def __init__(self, workdir, store, kubeconfig, args=(), name="server", key=None, port=None):
        self.workdir = workdir
        self.store = store
        self.kubeconfig = kubeconfig
        self.args = list(args)
        self.name = name
        self.key = key or os.path.join(workdir, "secret.key")
        self.port = port or free_port()
        self.log_path = os.path.join(workdir, name + ".log")
        self.proc = None
        self.starts = 0

    def start(self, timeout=60):
        assert SERVER_BIN, "DAAP_SERVER_BIN is not set"
        wrapper = os.environ.get("DAAP_SERVER_WRAPPER", "").split()
        argv = wrapper + [SERVER_BIN, "--listen", "127.0.0.1:%d" % self.port, "--store", self.store,
                          "--kubeconfig", self.kubeconfig, "--secret-key-file", self.key, "--create-secret-key",
                          "--migrate"] + self.args
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log)
        log.close()
        self.starts += 1
        wait_for(self._up, timeout, interval=0.05, what="%s to answer" % self.name)
        return self

    def _up(self):
        if self.proc.poll() is not None:
            raise AssertionError("%s exited %s:\n%s" % (self.name, self.proc.returncode, self.log_tail()))
        try:
            return self.request("GET", "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code. Kills after `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s did not stop within %ds" % (self.name, timeout))
        return self.proc.returncode

    def stop_checked(self):
        rc = self.stop()
        if rc not in (0, None):
            raise AssertionError("%s exited %s; log tail:\n%s" % (self.name, rc, self.log_tail()))

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def request(self, method, path, body=None, team=None, timeout=30):
        """(status, parsed body or None). Raises OSError when the server is not there."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if team:
            h["X-Daap-Team"] = team
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return r.status, parsed
        except http.client.HTTPException as e:
            raise OSError(str(e))
        finally:
            c.close()

    def try_request(self, *a, **kw):
        """Like request(), but (None, error) when the connection failed."""
        try:
            return self.request(*a, **kw)
        except OSError as e:
            return None, str(e)

    def list_all(self, query=""):
        items, cursor = [], None
        while True:
            q = query + ("&" if query else "") + "limit=100" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
            st, body = self.request("GET", "/databases?" + q)
            assert st == 200, (st, body)
            items += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                return items


# ------------------------------------------------------------------ PostgreSQL

def pgtmp(cmd, d, *extra):
    out = subprocess.run([PGTMP, cmd, d] + list(extra), capture_output=True, text=True, timeout=180)
    if out.returncode != 0:
        raise RuntimeError("pgtmp %s failed: %s" % (cmd, out.stderr))
    return out.stdout.strip()


def with_database(uri, dbname):
    u = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))


def psql(uri, sql):
    return subprocess.run(["psql", uri, "-qAtc", sql], check=True, capture_output=True, text=True).stdout


# ------------------------------------------------------------------ end-state checks

def final_state(srv, sim, created, deleted, timeout, poll=1.0, maybe_deleted=(), results=None):
    """Wait until every created id is ready or (when in `deleted`) deleted, as
    the API reports it; then check zero orphans both ways with kubectl and the
    API. `created`: {id: name} of creates answered 201; `deleted`: ids whose
    DELETE was answered 202 or 204. Records the figures in `results` (a
    Results) before it asserts. Returns a summary dict."""
    def settled():
        live = {d["id"]: d for d in srv.list_all()}
        pending = []
        for i in created:
            if i in deleted:
                if i in live:
                    pending.append((i, live[i]["status"]))
            elif i in maybe_deleted:
                if i in live and live[i]["status"] != "ready":
                    pending.append((i, live[i]["status"]))
            elif i not in live or live[i]["status"] != "ready":
                pending.append((i, live.get(i, {}).get("status", "missing")))
        others = [(i, d["status"]) for i, d in live.items() if d["status"] not in ("ready",)]
        return (not pending and not others) or ("pending", pending[:5], others[:5], len(pending) + len(others))

    t0 = time.monotonic()
    deadline = t0 + timeout
    last = None
    while time.monotonic() < deadline:
        last = settled()
        if last is True:
            break
        time.sleep(poll)
    else:
        if results is not None:
            results.record(acked_creates=len(created), acked_deletes=len(deleted))
            results.note("not settled within %ds: %d records pending" % (timeout, last[3]))
        raise AssertionError("not settled within %ds: %r" % (timeout, last))
    settle_s = time.monotonic() - t0

    everything = {d["id"]: d for d in srv.list_all("include_deleted=true")}
    live = {i: d for i, d in everything.items() if d["status"] != "deleted"}
    lost = lost_acknowledged_writes(srv, everything, created, deleted, maybe_deleted)
    clusters = sim.daap_objects("clusters.postgresql.cnpg.io")
    poolers = sim.daap_objects("poolers.postgresql.cnpg.io")
    orphans = orphan_objects(live, clusters, poolers)
    if results is not None:
        results.record(acked_creates=len(created), acked_deletes=len(deleted), lost_acked_writes=len(lost),
                       orphans=len(orphans), settle_s=round(settle_s, 1))
    assert not lost, "acknowledged writes lost: %s" % lost[:5]
    assert not orphans, "orphans: %s" % orphans[:5]
    return {"settle_s": settle_s, "live": len(live), "deleted": len(deleted), "records": len(everything),
            "clusters": len(clusters), "poolers": len(poolers)}


def lost_acknowledged_writes(srv, everything, created, deleted, maybe_deleted):
    """Answered writes whose effect is not there: a delete answered 202/204 whose record is not
    deleted (or still answers GET), a create answered 201 whose record is not ready."""
    lost = []
    for i in deleted:
        if everything.get(i, {}).get("status") != "deleted":
            lost.append(("delete", i, everything.get(i)))
        elif srv.request("GET", "/databases/" + i)[0] != 404:
            lost.append(("delete", i, "GET does not answer 404"))
    for i, name in created.items():
        status = everything.get(i, {}).get("status")
        if i in maybe_deleted:
            if status not in ("ready", "deleted"):
                lost.append(("create", i, name, status))
        elif i not in deleted and status != "ready":
            lost.append(("create", i, name, status))
    return lost


def orphan_objects(live, clusters, poolers):
    """Zero orphans, both ways: a Cluster or Pooler whose database-id label names no live record,
    a live record without its Cluster or Pooler, and objects beyond one of each per record."""
    orphans = []
    for kind, objs in (("Cluster", clusters), ("Pooler", poolers)):
        orphans += [(kind, name, "belongs to %s, not a live record" % owner)
                    for name, owner in objs.items() if owner not in live]
    for i, d in live.items():
        if clusters.get(d["cluster_name"]) != i:
            orphans.append(("record", i, d["name"], "has no Cluster"))
        if poolers.get(d["pooler_name"]) != i:
            orphans.append(("record", i, d["name"], "has no Pooler"))
    if not orphans and (len(clusters) != len(live) or len(poolers) != len(live)):
        orphans.append(("count", len(clusters), len(poolers), len(live)))
    return orphans


class Storm:
    """Creates and deletes from a few client threads. Records only what the
    server answered: `created` (201), `deleted` (202/204). A request that got
    no answer (the server was killed) has an unknown outcome: its id goes to
    `maybe_deleted` for a delete; for a create nothing is known, and the end
    checks still require every live record to be ready with its objects."""

    def __init__(self, srv, prefix, creates, deletes, threads=6, team="chaos", seed=None, pace=0.0):
        self.srv = srv
        self.prefix = prefix
        self.threads = threads
        self.team = team
        self.pace = pace
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.created = {}          # id -> name (201)
        self.deleted = set()       # ids (202/204)
        self.maybe_deleted = set() # ids whose DELETE got no answer
        self.in_flight = set()     # ids being deleted right now
        self.codes = {}
        self.todo = list(range(creates))
        self.n_creates = creates
        self.delete_budget = deletes
        self.stop_ev = threading.Event()

    def note(self, what, code):
        with self.lock:
            self.codes[(what, code)] = self.codes.get((what, code), 0) + 1

    def _next(self):
        """('create', i) or ('delete', id) or None when done."""
        with self.lock:
            cands = [i for i in self.created if i not in self.deleted and i not in self.in_flight]
            creates_left = len(self.todo)
            want_delete = self.delete_budget > 0 and cands and (
                creates_left == 0 or self.rng.random() < self.delete_budget / float(self.delete_budget + creates_left))
            if want_delete:
                self.delete_budget -= 1
                victim = self.rng.choice(cands)
                self.in_flight.add(victim)
                return ("delete", victim)
            if creates_left:
                return ("create", self.todo.pop(0))
            if self.delete_budget > 0 and (self.in_flight or (not cands and len(self.created) < self.n_creates)):
                return ("wait", None)
            return None

    def _delete(self, victim):
        st, body = self.srv.try_request("DELETE", "/databases/" + victim, team=self.team)
        self.note("delete", st)
        with self.lock:
            self.in_flight.discard(victim)
            if st in (202, 204):
                self.deleted.add(victim)
                self.maybe_deleted.discard(victim)
            elif st == 404:
                # Only after an earlier delete went through without an answer;
                # the end checks verify it really is deleted.
                self.deleted.add(victim)
                self.maybe_deleted.discard(victim)
            else:
                if st is None:
                    self.maybe_deleted.add(victim)
                self.delete_budget += 1  # not done: it will be picked again (or another)
        if st is None or st >= 500:
            time.sleep(0.1)

    def _create(self, i):
        name = "%s-%03d" % (self.prefix, i)
        st, body = self.srv.try_request("POST", "/databases", {"name": name, "owner_team": self.team,
                                                               "purpose": "chaos storm"})
        self.note("create", st)
        if st == 201:
            with self.lock:
                self.created[body["id"]] = name
        elif st is None or st >= 500:
            with self.lock:
                # Unknown outcome: retry the same name later. A 409 then
                # means the first attempt did create it (unknown id).
                self.todo.append(i)
            time.sleep(0.1)

    def _worker(self):
        while not self.stop_ev.is_set():
            job = self._next()
            if job is None:
                return
            kind, arg = job
            if kind == "delete":
                self._delete(arg)
            elif kind == "create":
                self._create(arg)
            else:
                time.sleep(0.05)
            if self.pace:
                time.sleep(self.pace)

    def run(self):
        ts = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.threads)]
        for t in ts:
            t.start()
        return ts

    def join(self, ts, timeout):
        deadline = time.monotonic() + timeout
        for t in ts:
            t.join(max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in ts):
            self.stop_ev.set()
            raise AssertionError("storm clients did not finish within %ds (%s)" % (timeout, self.summary()))

    def summary(self):
        return ", ".join("%s %s: %d" % (w, c, n) for (w, c), n in sorted(self.codes.items(), key=str))


class Cleanup(unittest.TestCase):
    """Base with addCleanup-based process hygiene."""

    def make_dir(self, prefix):
        d = work_dir(prefix)
        if os.environ.get("CHAOS_KEEP") != "1":
            self.addCleanup(shutil.rmtree, d, True)
        else:
            say("keeping %s" % d)
        return d

    def start_kubesim(self, d, **kw):
        sim = Kubesim(os.path.join(d, "kubesim"), **kw)
        self.addCleanup(sim.stop)
        return sim

    def scenario_results(self, sim=None):
        """The Results of this test, written when it ends (after its later cleanups, before those
        registered earlier: call it once kubesim runs, so that kubesim can still be asked)."""
        res = Results(self.id().split(".", 1)[-1], sim)
        self.addCleanup(res.write)
        return res

    def start_server(self, d, store, sim, args=(), name="server", **kw):
        srv = Server(d, store, sim.kubeconfig, args=args, name=name, **kw)
        self.addCleanup(srv.kill)
        return srv.start()
