"""Shared helpers of the bench/ figure scripts (Python 3 standard library only).

Processes: the bare baseline, daap-server, kubesim, a throwaway PostgreSQL;
wrk runs and their parsing; the interleaved-median bookkeeping; the machine
header every script prints. Every process started here is stopped by
Cleanup, also when the script fails or is interrupted."""
import argparse
import atexit
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
KUBESIM_DIR = os.path.join(SOURCE_DIR, "tools", "kubesim")
PGTMP = os.path.join(SOURCE_DIR, "scripts", "pgtmp")
CNPG = "/apis/postgresql.cnpg.io/v1"
NAMESPACE = "daap"

# The load generator of reference/perf.md: one wrk thread, 32 connections.
WRK_THREADS = 1
WRK_CONNECTIONS = 32


def log(*a):
    print("#", *a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ options

def parser(description, duration=10, runs=3):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("build", nargs="?", default=os.environ.get("BUILD_DIR", os.path.join(SOURCE_DIR, "build")),
                   help="build directory (default: build, or $BUILD_DIR)")
    p.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", runs)),
                   help="interleaved rounds; the figure is their median (default %(default)s)")
    p.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", duration)),
                   help="seconds per wrk run (default %(default)s)")
    p.add_argument("--short", action="store_true", default=os.environ.get("BENCH_SHORT") == "1",
                   help="CI-sized run (smaller counts, shorter runs)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    return p


def binaries(build):
    build = os.path.abspath(build)
    b = {
        "server": os.path.join(build, "server", "daap-server"),
        "baseline": os.path.join(build, "bench", "daap-bench-baseline"),
        "seed": os.path.join(build, "bench", "daap-bench-seed"),
    }
    for k, v in b.items():
        if not os.access(v, os.X_OK):
            sys.exit("bench: %s not found; build first: cmake --build %s -j2" % (v, build))
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk not found; run scripts/install-deps (Debian package wrk)")
    return b


# ------------------------------------------------------------------ machine

def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (0, 0, 0)
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(), "mem_mib": mem,
            "loadavg": "%.2f %.2f %.2f" % load, "wrk": wrk_version(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def wrk_version():
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=5)
        m = re.search(r"wrk (\S+)", out.stdout + out.stderr)
        return m.group(1) if m else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def print_header(title, args):
    m = machine()
    print("== %s" % title)
    print("machine: nproc=%s cpu=%s kernel=%s mem=%d MiB loadavg(before)=%s wrk=%s date=%s" % (
        m["nproc"], m["cpu"], m["kernel"], m["mem_mib"], m["loadavg"], m["wrk"], m["date"]))
    print("command: %s" % " ".join([os.path.relpath(sys.argv[0], SOURCE_DIR)] + sys.argv[1:]))
    print("settings: runs=%d duration=%gs short=%s" % (args.runs, args.duration, args.short))
    sys.stdout.flush()
    return m


# ------------------------------------------------------------------ cleanup

class Cleanup:
    """Last-in first-out cleanups, run at exit and on SIGTERM/SIGINT."""

    def __init__(self):
        self.actions = []
        atexit.register(self.run)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._signal)

    def add(self, fn, *a):
        self.actions.append((fn, a))

    def run(self):
        while self.actions:
            fn, a = self.actions.pop()
            try:
                fn(*a)
            except Exception as e:  # noqa: BLE001 - cleanup must go on
                log("cleanup %s: %s" % (getattr(fn, "__name__", fn), e))

    def _signal(self, signum, frame):
        self.run()
        sys.exit(128 + signum)


CLEANUP = Cleanup()


def work_dir(args, prefix="daap-bench-"):
    d = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_WORK_DIR") or None)
    os.chmod(d, 0o755)  # PostgreSQL (pgtmp, kubesim backing) runs as the postgres user
    if not args.keep:
        CLEANUP.add(shutil.rmtree, d, True)
    else:
        log("work directory kept: %s" % d)
    return d


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise RuntimeError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


def stop_process(proc, timeout=30):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ------------------------------------------------------------------ processes

class Baseline:
    """daap-bench-baseline on a free port."""

    def __init__(self, bins, threads=None):
        self.port = free_port()
        argv = [bins["baseline"], "--listen", "127.0.0.1:%d" % self.port]
        if threads:
            argv += ["--threads", str(threads)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        CLEANUP.add(stop_process, self.proc)
        line = self.proc.stdout.readline()
        if not line.startswith("listening"):
            raise RuntimeError("baseline did not start: %r" % line)
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        stop_process(self.proc)


class Server:
    """daap-server on a free port, logging to DIR/NAME.log."""

    def __init__(self, bins, workdir, store, kubeconfig, key, args=(), name="server", env=None):
        self.port = free_port()
        self.log_path = os.path.join(workdir, name + ".log")
        self.logf = open(self.log_path, "ab")
        argv = [bins["server"], "--listen", "127.0.0.1:%d" % self.port, "--store", store, "--kubeconfig", kubeconfig,
                "--secret-key-file", key, "--create-secret-key", "--migrate"] + list(args)
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=self.logf, env=e)
        CLEANUP.add(self.stop)
        self.url = "http://127.0.0.1:%d" % self.port
        wait_for(self._up, 60, what="daap-server to answer /healthz")

    def _up(self):
        if self.proc.poll() is not None:
            raise RuntimeError("daap-server exited %s; log:\n%s" % (self.proc.returncode, self.log_tail()))
        try:
            return self.request("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def log_tail(self, n=4000):
        with open(self.log_path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        finally:
            c.close()

    def pid(self):
        return self.proc.pid

    def stop(self):
        stop_process(self.proc)
        if not self.logf.closed:
            self.logf.close()


class Kubesim:
    """kubesim started with kubesim-up; stopped with kubesim-down."""

    def __init__(self, state, extra=(), ready_delay=2.0, pooler_delay=1.0, backing=False):
        self.state = state
        os.makedirs(state, exist_ok=True)
        os.chmod(state, 0o755)
        argv = [os.path.join(KUBESIM_DIR, "kubesim-up"), state, "--ready-delay", str(ready_delay),
                "--pooler-delay", str(pooler_delay)] + list(extra)
        if not backing:
            argv.append("--no-backing")
        CLEANUP.add(self.stop)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError("kubesim-up failed: %s %s" % (out.stdout, out.stderr))
        self.kubeconfig = out.stdout.strip().splitlines()[-1]
        with open(os.path.join(state, "url")) as f:
            self.url = f.read().strip()
        with open(os.path.join(state, "token")) as f:
            self.token = f.read().strip()
        with open(os.path.join(state, "kubesim.pid")) as f:
            self.pid = int(f.read().strip())
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port
        self.ca = os.path.join(state, "pki", "ca.crt")
        self._local = threading.local()

    def stop(self):
        subprocess.run([os.path.join(KUBESIM_DIR, "kubesim-down"), self.state], capture_output=True, timeout=120)

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.check_hostname = False
        return ctx

    def _conn(self, timeout=60):
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.ssl_context())

    def call(self, method, path, body=None, timeout=60):
        c = getattr(self._local, "conn", None)
        for attempt in (0, 1):
            if c is None:
                c = self._local.conn = self._conn(timeout)
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
            except (OSError, http.client.HTTPException):
                c.close()
                c = self._local.conn = None
                if attempt:
                    raise
        return None

    def stats(self):
        return self.call("GET", "/kubesim/stats")[1]

    def reset_stats(self):
        return self.call("POST", "/kubesim/reset-stats")

    def faults(self, **doc):
        st, body = self.call("POST", "/kubesim/faults", doc)
        assert st == 200, body
        return body

    def objects(self, plural, group=CNPG, selector=None):
        path = "%s/namespaces/%s/%s" % (group, NAMESPACE, plural)
        if selector:
            path += "?labelSelector=" + urllib.parse.quote(selector)
        st, body = self.call("GET", path)
        assert st == 200, body
        return body["items"]

    def rss_kib(self):
        return proc_status(self.pid).get("VmRSS", 0)


def pgtmp_start(d):
    out = subprocess.run([PGTMP, "start", d], capture_output=True, text=True, timeout=180)
    if out.returncode != 0:
        raise RuntimeError("pgtmp start failed: %s" % out.stderr)
    CLEANUP.add(pgtmp_stop, d)
    return out.stdout.strip().splitlines()[-1]


def pgtmp_stop(d):
    subprocess.run([PGTMP, "stop", d], capture_output=True, timeout=120)


def with_database(uri, dbname):
    u = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))


def unreachable_kubeconfig(workdir):
    """A kubeconfig whose API server is a closed loopback port. Used where a
    figure measures the HTTP and store path only: the reconciler then just
    backs off (a failed connect every few seconds) instead of creating a
    Cluster for each of 100,000 seeded records."""
    path = os.path.join(workdir, "kubeconfig-unreachable")
    port = free_port()  # nothing listens there
    with open(path, "w") as f:
        f.write("""apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:%d"}
contexts:
- name: none
  context: {cluster: none, user: none, namespace: daap}
current-context: none
users:
- name: none
  user: {token: unused}
""" % port)
    return path


# ------------------------------------------------------------------ seeding

def seed(bins, store, key, count, teams=100, prefix="bench"):
    """Seed `count` records; cached per count under $BENCH_CACHE for SQLite."""
    cache = os.environ.get("BENCH_CACHE")
    if cache and store.startswith("sqlite://"):
        path = store[len("sqlite://"):]
        cdb = os.path.join(cache, "seed-%d-%d-%s.db" % (count, teams, prefix))
        ckey = cdb + ".key"
        cinfo = cdb + ".json"
        if not (os.path.exists(cdb) and os.path.exists(cinfo)):
            os.makedirs(cache, exist_ok=True)
            for p in (cdb, cdb + "-wal", cdb + "-shm", ckey):
                if os.path.exists(p):
                    os.unlink(p)
            info = _seed(bins, "sqlite://" + cdb, ckey, count, teams, prefix)
            with open(cinfo, "w") as f:
                json.dump(info, f)
        shutil.copyfile(cdb, path)
        shutil.copyfile(ckey, key)
        os.chmod(key, 0o600)
        with open(cinfo) as f:
            return json.load(f)
    return _seed(bins, store, key, count, teams, prefix)


def _seed(bins, store, key, count, teams, prefix):
    t0 = time.monotonic()
    out = subprocess.run([bins["seed"], "--store", store, "--key", key, "--count", str(count), "--teams", str(teams),
                          "--prefix", prefix], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("seeding failed: %s" % out.stderr)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    log("seeded %d records in %.1fs" % (count, time.monotonic() - t0))
    return info


# ------------------------------------------------------------------ wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def wrk(url, duration, connections=WRK_CONNECTIONS, threads=WRK_THREADS, script=None, env=None, headers=()):
    """One wrk run; returns {rps, p50, p99 (ms), requests, errors, non2xx}."""
    argv = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % max(1, int(round(duration))), "--latency",
            "--timeout", "10s"]
    for h in headers:
        argv += ["-H", h]
    if script:
        argv += ["-s", script]
    argv.append(url)
    e = dict(os.environ)
    e.update(env or {})
    out = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=duration + 60)
    text = out.stdout
    if out.returncode != 0:
        raise RuntimeError("wrk failed: %s %s" % (text, out.stderr))
    r = {"rps": 0.0, "p50": None, "p99": None, "requests": 0, "errors": 0, "non2xx": 0, "raw": text}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        r["rps"] = float(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+(\S+)" % pct, text, re.M)
        if m:
            r[key] = _ms(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    return r


# ------------------------------------------------------------------ /proc

def proc_status(pid):
    """VmRSS, RssAnon, RssFile, RssShmem, VmHWM in KiB."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def thread_cpu(pid):
    """CPU seconds per thread id (utime + stime)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    base = "/proc/%d/task" % pid
    try:
        for tid in os.listdir(base):
            try:
                with open(os.path.join(base, tid, "stat")) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        pass
    return out


def cpu_split(before, after):
    """The busiest threads' share of CPU seconds between two thread_cpu() calls."""
    d = sorted(((after[t] - before.get(t, 0.0)) for t in after), reverse=True)
    total = sum(d) or 1.0
    return "/".join("%.0f%%" % (100 * x / total) for x in d[:3] if x > 0) or "-"


# ------------------------------------------------------------------ figures

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=1):
    return "-" if x is None else ("%.*f" % (nd, x))


class Table:
    """Rows printed as a fixed-width table plus a JSON document."""

    def __init__(self):
        self.rows = []
        self.doc = {}

    def add(self, **row):
        self.rows.append(row)

    def print(self, cols):
        widths = [max(len(c), *(len(str(r.get(c, ""))) for r in self.rows)) for c in cols]
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        for r in self.rows:
            print("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(cols, widths)))
        sys.stdout.flush()


def verdict(ok, text):
    line = "target: %s -> %s" % (text, "MET" if ok else "NOT MET")
    print(line)
    sys.stdout.flush()
    return line


def write_json(args, doc):
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)


def interleave(targets, runs, duration, warmup=2.0):
    """Run wrk against each (label, url, pid) in turn, `runs` rounds.
    Returns {label: [result, ...]}; each result also has 'ratio' (to the
    first target of the same round) and 'split' (CPU split of pid's threads)."""
    for label, url, pid in targets:
        wrk(url, warmup)
    res = {label: [] for label, _, _ in targets}
    for rnd in range(runs):
        base = None
        for label, url, pid in targets:
            before = thread_cpu(pid) if pid else {}
            r = wrk(url, duration)
            r["split"] = cpu_split(before, thread_cpu(pid)) if pid else "-"
            if base is None:
                base = r["rps"]
            r["ratio"] = r["rps"] / base if base else None
            r.pop("raw", None)
            res[label].append(r)
            log("round %d %-28s %9.0f req/s  p99 %6s ms  ratio %.3f  errors %d non2xx %d  split %s" % (
                rnd + 1, label, r["rps"], fmt(r["p99"], 2), r["ratio"] or 0, r["errors"], r["non2xx"], r["split"]))
    return res


def summarize(res):
    """Median rows for the table: rps, ratio, p50, p99 and every round's ratio."""
    rows = []
    for label, rs in res.items():
        rows.append({
            "target": label,
            "req/s (median)": fmt(median([r["rps"] for r in rs]), 0),
            "ratio (median)": fmt(median([r["ratio"] for r in rs]), 3),
            "p50 ms": fmt(median([r["p50"] for r in rs]), 2),
            "p99 ms": fmt(median([r["p99"] for r in rs]), 2),
            "rounds (ratio)": " ".join(fmt(r["ratio"], 3) for r in rs),
            "errors": sum(r["errors"] + r["non2xx"] for r in rs),
            "cpu split": rs[-1]["split"] if rs else "-",
        })
    return rows


HTTP_COLS = ["target", "req/s (median)", "ratio (median)", "p50 ms", "p99 ms", "rounds (ratio)", "errors", "cpu split"]


def status_codes(raw):
    """{code: count} from the 'status codes:' line that bench/create.lua prints."""
    m = re.search(r"^status codes: (.*)$", raw or "", re.M)
    out = {}
    if m:
        for part in m.group(1).split():
            k, _, v = part.partition("=")
            out[int(k)] = int(v)
    return out


def quiesce(pids, below=0.05, timeout=120, window=1.0):
    """Wait until every pid uses under `below` of a CPU over `window` seconds
    (e.g. kubesim's operator working off a previous round). Returns seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        before = [sum(thread_cpu(p).values()) for p in pids]
        time.sleep(window)
        after = [sum(thread_cpu(p).values()) for p in pids]
        if all((a - b) / window < below for a, b in zip(after, before)):
            break
    return time.monotonic() - t0
