"""Test helpers: start/stop kubesim, a small Kubernetes REST client, watch reader."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
KUBESIM_DIR = os.path.dirname(HERE)
KUBESIM = os.path.join(KUBESIM_DIR, "kubesim")
KUBESIM_UP = os.path.join(KUBESIM_DIR, "kubesim-up")
KUBESIM_DOWN = os.path.join(KUBESIM_DIR, "kubesim-down")
sys.path.insert(0, KUBESIM_DIR)
sys.path.insert(0, os.path.join(KUBESIM_DIR, "..", "..", "tests", "support"))
import testports  # noqa: E402  (the tests' port picker: DAAP_TEST_PORT_BASE)

CNPG = "/apis/postgresql.cnpg.io/v1"


def tmp_base():
    """A world-traversable temp dir (PostgreSQL and PgBouncer run as user postgres)."""
    base = os.environ.get("KUBESIM_TEST_TMP")
    if not base:
        base = tempfile.mkdtemp(prefix="kubesim-test-")
        os.environ["KUBESIM_TEST_TMP"] = base
    os.chmod(base, 0o755)
    return base


def new_dir(prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir=tmp_base())
    os.chmod(d, 0o755)
    return d


class Sim:
    """A kubesim process for one test class. Flags are kubesim flags."""

    def __init__(self, *flags, backing=False, http=False):
        self.flags = list(flags)
        if not backing:
            self.flags.append("--no-backing")
        if http:
            self.flags.append("--http")
        self.http = http
        self.proc = None

    def start(self):
        self.state = new_dir("state-")
        self.kubeconfig = os.path.join(self.state, "kc.yaml")
        self.kubeconfig_cert = os.path.join(self.state, "kc-cert.yaml")
        args = [KUBESIM, "--listen", testports.listen_address(),
                "--state-dir", self.state, "--kubeconfig-out", self.kubeconfig,
                "--access-log", os.path.join(self.state, "access.log")]
        if not self.http:
            args += ["--client-cert-kubeconfig-out", self.kubeconfig_cert]
        args += self.flags
        self.log = open(os.path.join(self.state, "stderr.log"), "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + 60
        self.url = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("kubesim: listening on "):
                self.url = line.split()[-1]
                break
        if not self.url:
            self.stop()
            raise RuntimeError("kubesim did not start: %s" % open(os.path.join(self.state, "stderr.log")).read())
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port
        with open(os.path.join(self.state, "token")) as f:
            self.token = f.read().strip()
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run([KUBESIM_DOWN, self.state], capture_output=True)
        if self.proc is not None and self.proc.stdout:
            try:
                self.proc.stdout.close()
            except Exception:
                pass
        self.log.close()

    def client(self, token="default", cert=False):
        return Client(self, token=self.token if token == "default" else token, cert=cert)

    def admin(self, method, path, body=None):
        c = self.client()
        return c.request(method, "/kubesim/" + path, body)


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body.decode()) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<Resp %s %s>" % (self.status, self.raw[:300])


class Client:
    def __init__(self, sim, token=None, cert=False):
        self.sim = sim
        self.token = token
        self.cert = cert
        self.conn = None

    def _ctx(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.sim.state, "pki", "ca.crt"))
        if self.cert:
            ctx.load_cert_chain(os.path.join(self.sim.state, "pki", "client.crt"),
                                os.path.join(self.sim.state, "pki", "client.key"))
        return ctx

    def connect(self, timeout=30):
        if self.sim.http:
            return http.client.HTTPConnection(self.sim.host, self.sim.port, timeout=timeout)
        return http.client.HTTPSConnection(self.sim.host, self.sim.port, timeout=timeout, context=self._ctx())

    def headers(self, extra=None):
        h = {"Accept": "application/json", "User-Agent": "kubesim-test/1.0"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(extra or {})
        return h

    def request(self, method, path, body=None, ctype="application/json", headers=None):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = self.headers(headers)
        if data is not None:
            h["Content-Type"] = ctype
        for attempt in range(2):
            if self.conn is None:
                self.conn = self.connect()
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                b = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return Resp(r.status, r, b)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, ctype="application/merge-patch+json", **kw):
        return self.request("PATCH", path, body, ctype=ctype, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def watch(self, path, timeout=30):
        return Watch(self, path, timeout)


class Watch:
    """Reads watch events (one JSON object per line) from a chunked stream."""

    def __init__(self, client, path, timeout):
        self.conn = client.connect(timeout=timeout)
        self.conn.request("GET", path, headers=client.headers())
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.buf = b""
        self.eof = False
        self.error = None

    def next(self, timeout=10):
        """Next event dict, or None at end of stream / timeout."""
        self.conn.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            try:
                chunk = self.resp.read1(65536)
            except socket.timeout:
                return None
            except (http.client.IncompleteRead, ConnectionError, OSError, ValueError) as e:
                self.error = e
                self.eof = True
                return None
            if not chunk:
                self.eof = True
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def until(self, pred, timeout=10):
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            ev = self.next(timeout=max(0.05, deadline - time.time()))
            if ev is None:
                if self.eof:
                    break
                continue
            seen.append(ev)
            if pred(ev):
                return ev, seen
        return None, seen

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass


def cluster(name, labels=None, **spec):
    s = {"instances": 1, "storage": {"size": "1Gi"}}
    s.update(spec)
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": name, "labels": labels or {}}, "spec": s}


def pooler(name, cluster_name, mode="transaction", labels=None):
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Pooler",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"cluster": {"name": cluster_name}, "type": "rw", "instances": 1,
                     "pgbouncer": {"poolMode": mode}}}


def wait_for(fn, timeout=10, interval=0.05, msg="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (msg, last))


def cluster_ready(c, ns, name):
    r = c.get("%s/namespaces/%s/clusters/%s" % (CNPG, ns, name))
    if r.status != 200:
        return False
    conds = (r.json.get("status") or {}).get("conditions") or []
    return any(x.get("type") == "Ready" and x.get("status") == "True" for x in conds)


def phase(c, ns, name):
    r = c.get("%s/namespaces/%s/clusters/%s" % (CNPG, ns, name))
    return (r.json.get("status") or {}).get("phase") if r.status == 200 else None


def own_processes(state_dir):
    from kubesimlib.down import processes_of
    return processes_of(state_dir)
