"""Helpers for the daap-server HTTP suites: kubesim and daap-server processes,
an HTTP client that checks every answer against docs/openapi.json, and a
small OpenAPI 3.0 schema validator (stdlib only)."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE_DIR = os.environ.get("DAAP_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVER_BIN = os.environ.get("DAAP_SERVER_BIN", "")
KUBESIM_DIR = os.path.join(SOURCE_DIR, "tools", "kubesim")
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import testports  # noqa: E402  (the tests' port picker: DAAP_TEST_PORT_BASE)
OPENAPI_PATH = os.path.join(SOURCE_DIR, "docs", "openapi.json")
CNPG = "/apis/postgresql.cnpg.io/v1"
NAMESPACE = "daap"


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Poll pred() until it returns a truthy value; return it, or fail."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


def work_dir(prefix):
    """A temp dir the postgres system user can traverse (kubesim's backing runs as postgres)."""
    base = os.environ.get("DAAP_TEST_WORK_DIR") or tempfile.gettempdir()
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    os.chmod(d, 0o755)
    return d


# ---------------------------------------------------------------- kubesim

class Kubesim:
    """One kubesim in its own state dir, started with kubesim-up."""

    def __init__(self, state_dir, backing=False, ready_delay=0.3, pooler_delay=0.2, extra=()):
        self.state = state_dir
        self.backing = backing
        self.ready_delay = ready_delay
        self.pooler_delay = pooler_delay
        self.extra = list(extra)
        self.port = 0
        self.kubeconfig = None

    def start(self):
        args = [os.path.join(KUBESIM_DIR, "kubesim-up"), self.state, "--listen",
                "127.0.0.1:%d" % self.port if self.port else testports.listen_address(),
                "--ready-delay", str(self.ready_delay), "--pooler-delay", str(self.pooler_delay),
                "--access-log", os.path.join(self.state, "access.log")] + self.extra
        if not self.backing:
            args.append("--no-backing")
        out = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if out.returncode != 0 and out.stderr.strip() == "Terminated":
            # Something outside the test (seen only while chaos_storage ends on a busy machine)
            # sends SIGTERM to a child of kubesim-up now and then; the cause is not found yet
            # (see the session notes). One more try, said out loud.
            print("kubesim-up was terminated from outside; starting it once more", file=sys.stderr)
            subprocess.run([os.path.join(KUBESIM_DIR, "kubesim-down"), self.state], capture_output=True, timeout=120)
            out = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError("kubesim-up failed (exit %d): %s %s" % (out.returncode, out.stdout, out.stderr))
        self.kubeconfig = out.stdout.strip().splitlines()[-1]
        with open(os.path.join(self.state, "url")) as f:
            self.url = f.read().strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        with open(os.path.join(self.state, "token")) as f:
            self.token = f.read().strip()
        return self

    def stop(self):
        subprocess.run([os.path.join(KUBESIM_DIR, "kubesim-down"), self.state], capture_output=True, timeout=120)

    def _conn(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.state, "pki", "ca.crt"))
        ctx.check_hostname = False
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=ctx)

    def call(self, method, path, body=None):
        c = self._conn()
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
        status, body = self.call("POST", "/kubesim/faults", doc)
        assert status == 200, body
        return body

    def clear_faults(self):
        self.call("DELETE", "/kubesim/faults")

    def mark_cluster(self, name, action):
        status, body = self.call("POST", "/kubesim/clusters/%s/%s/%s" % (NAMESPACE, name, action))
        assert status == 200, body

    def objects(self, plural, group_path=CNPG):
        status, body = self.call("GET", "%s/namespaces/%s/%s" % (group_path, NAMESPACE, plural))
        assert status == 200, body
        return body["items"]

    def object_names(self, plural):
        return sorted(o["metadata"]["name"] for o in self.objects(plural))

    def stats(self):
        return self.call("GET", "/kubesim/stats")[1]


# ---------------------------------------------------------------- OpenAPI

UUID_RX = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATETIME_RX = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class OpenAPI:
    """Checks responses against the document: status documented for the
    operation, media type, body schema and documented headers."""

    def __init__(self, path=OPENAPI_PATH):
        with open(path, "rb") as f:
            self.raw = f.read()
        self.doc = json.loads(self.raw)
        self.seen = set()  # (method, template, status)

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            cur = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                cur = cur[part]
            node = cur
        return node

    def template_for(self, path):
        path = path.split("?", 1)[0]
        for tmpl in self.doc["paths"]:
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
            if re.match(rx, path):
                return tmpl
        return None

    def operations(self):
        for tmpl, item in self.doc["paths"].items():
            for method in item:
                if method in ("get", "put", "post", "patch", "delete", "head", "options"):
                    yield method.upper(), tmpl

    def check(self, method, path, resp):
        """Raise AssertionError when resp does not conform. Returns the template."""
        tmpl = self.template_for(path)
        if tmpl is None:
            # No operation: an unknown endpoint; it must still be a problem document.
            self._check_problem(resp, 404)
            return None
        item = self.doc["paths"][tmpl]
        op = item.get(method.lower())
        if op is None:
            self._check_problem(resp, 405)
            assert resp.header("Allow"), "405 without Allow"
            return tmpl
        responses = op["responses"]
        code = str(resp.status)
        assert code in responses, "%s %s answered %s, which the OpenAPI document does not list (%s)" % (
            method, tmpl, code, sorted(responses))
        self.seen.add((method, tmpl, resp.status))
        spec = self.resolve(responses[code])
        for name, h in (spec.get("headers") or {}).items():
            if name in ("X-Request-Id", "Location", "Allow", "Retry-After"):
                assert resp.header(name), "%s %s %s: header %s missing" % (method, tmpl, code, name)
        content = spec.get("content")
        if not content:
            assert not resp.raw, "%s %s %s: body where the document has none" % (method, tmpl, code)
            return tmpl
        ctype = (resp.header("Content-Type") or "").split(";")[0].strip()
        assert ctype in content, "%s %s %s: Content-Type %r, document has %s" % (method, tmpl, code, ctype, list(content))
        if method == "HEAD":
            assert not resp.raw, "%s %s %s: HEAD with a body" % (method, tmpl, code)
        elif ctype.endswith("json"):  # the console's HTML, CSS and JavaScript have no schema to check
            self.validate(content[ctype]["schema"], resp.json_body(), "%s %s %s body" % (method, tmpl, code))
        return tmpl

    def _check_problem(self, resp, status):
        assert resp.status == status, "expected %d, got %d" % (status, resp.status)
        assert (resp.header("Content-Type") or "").startswith("application/problem+json")
        self.validate({"$ref": "#/components/schemas/Problem"}, resp.json_body(), "problem")

    def validate(self, schema, value, where="$"):
        schema = self.resolve(schema)
        if value is None:
            assert schema.get("nullable"), "%s: null where not nullable" % where
            return
        t = schema.get("type")
        checker = {"object": self._object, "array": self._array, "string": self._string,
                   "integer": self._integer, "number": self._number, "boolean": self._boolean}.get(t)
        if checker:
            checker(schema, value, where)
        if "enum" in schema:
            assert value in schema["enum"], "%s: %r not in %r" % (where, value, schema["enum"])

    def _object(self, s, v, where):
        assert isinstance(v, dict), "%s: want object, got %r" % (where, type(v).__name__)
        for k in s.get("required", []):
            assert k in v, "%s: missing required %s" % (where, k)
        props = s.get("properties", {})
        for k, val in v.items():
            if k in props:
                self.validate(props[k], val, "%s.%s" % (where, k))
            else:
                assert s.get("additionalProperties", True) is not False, "%s: unexpected member %s" % (where, k)

    def _array(self, s, v, where):
        assert isinstance(v, list), "%s: want array" % where
        for i, item in enumerate(v):
            self.validate(s.get("items", {}), item, "%s[%d]" % (where, i))

    def _string(self, s, v, where):
        assert isinstance(v, str), "%s: want string, got %r" % (where, v)
        assert len(v) >= s.get("minLength", 0), "%s: too short" % where
        assert "maxLength" not in s or len(v) <= s["maxLength"], "%s: too long" % where
        if "pattern" in s:
            assert re.search(s["pattern"], v), "%s: %r does not match %s" % (where, v, s["pattern"])
        fmt = s.get("format")
        if fmt == "uuid":
            assert UUID_RX.match(v), "%s: not a uuid: %r" % (where, v)
        if fmt == "date-time":
            assert DATETIME_RX.match(v), "%s: not a date-time: %r" % (where, v)

    def _integer(self, s, v, where):
        assert isinstance(v, int) and not isinstance(v, bool), "%s: want integer, got %r" % (where, v)
        self._bounds(s, v, where)

    def _number(self, s, v, where):
        assert isinstance(v, (int, float)) and not isinstance(v, bool), "%s: want number" % where
        self._bounds(s, v, where)

    def _boolean(self, s, v, where):
        assert isinstance(v, bool), "%s: want boolean" % where

    def _bounds(self, s, v, where):
        assert "minimum" not in s or v >= s["minimum"], "%s: %r below minimum" % (where, v)
        assert "maximum" not in s or v <= s["maximum"], "%s: %r above maximum" % (where, v)


# ---------------------------------------------------------------- daap-server

class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.raw = raw

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json_body(self):
        return json.loads(self.raw.decode("utf-8"))

    @property
    def json(self):
        return self.json_body()

    def __repr__(self):
        return "<Resp %d %s>" % (self.status, self.raw[:400])


class Server:
    """A daap-server process on a free loopback port."""

    def __init__(self, workdir, store, kubeconfig, args=(), env=None, name="server", openapi=None):
        self.workdir = workdir
        self.store = store
        self.kubeconfig = kubeconfig
        self.args = list(args)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.key_path = os.path.join(workdir, "secret.key")
        self.openapi = openapi
        self.proc = None
        self.port = None

    def launch(self):
        """Start the process without waiting for it to listen."""
        assert SERVER_BIN, "DAAP_SERVER_BIN is not set"
        # DAAP_SERVER_WRAPPER="valgrind --leak-check=full ..." runs the server under a tool.
        wrapper = os.environ.get("DAAP_SERVER_WRAPPER", "").split()
        argv = wrapper + [SERVER_BIN, "--listen", testports.listen_address(),
                "--store", self.store, "--kubeconfig", self.kubeconfig,
                "--secret-key-file", self.key_path, "--create-secret-key", "--migrate"] + self.args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=self.env)
        return self

    def wait_listening(self, timeout=None):
        timeout = timeout or (120 if os.environ.get("DAAP_SERVER_WRAPPER") else 30)
        self.port = wait_for(self._listening_port, timeout, what="daap-server to listen")
        return self

    def start(self, timeout=None):
        return self.launch().wait_listening(timeout)

    def _listening_port(self):
        if self.proc.poll() is not None:
            raise AssertionError("daap-server exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
        for line in self.log_lines():
            if line.get("msg") == "listening":
                return line["port"]
        return None

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self):
        out = []
        for raw in self.log_text().splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append({"unparsed": raw})
        return out

    def request_logs(self):
        return [l for l in self.log_lines() if l.get("msg") == "request"]

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Signal the server and wait for it; returns its exit code (None if never started)."""
        if self.proc is None:
            return None
        timeout = timeout or (120 if os.environ.get("DAAP_SERVER_WRAPPER") else 30)
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    raise AssertionError("daap-server did not stop within %ss" % timeout)
        finally:
            self.log.close()
        return self.proc.returncode

    def stop_checked(self):
        """Stop with SIGTERM; a non-zero exit (a crash, a sanitizer report) fails the test run."""
        rc = self.stop()
        if rc not in (0, None):
            raise AssertionError("daap-server exited %s; log tail:\n%s" % (rc, self.log_text()[-4000:]))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def connect(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, ctype="application/json", conn=None, check=True):
        """One request; JSON-encodes dict bodies; checks the answer against the OpenAPI document."""
        h = dict(headers or {})
        data = body
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        if data is not None and ctype and "Content-Type" not in h:
            h["Content-Type"] = ctype
        own = conn is None
        c = conn or self.connect()
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            resp = Resp(r.status, r.getheaders(), raw)
        finally:
            if own:
                c.close()
        if check and self.openapi:
            self.openapi.check(method, path, resp)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body, team=None, **kw):
        h = dict(kw.pop("headers", {}) or {})
        if team is not None:
            h["X-Daap-Team"] = team
        return self.request("PATCH", path, body, headers=h, **kw)

    def delete(self, path, team=None, **kw):
        h = dict(kw.pop("headers", {}) or {})
        if team is not None:
            h["X-Daap-Team"] = team
        return self.request("DELETE", path, headers=h, **kw)

    def create(self, name, team="payments", purpose="tests", **extra):
        body = {"name": name, "owner_team": team, "purpose": purpose}
        body.update(extra)
        r = self.post("/databases", body)
        assert r.status == 201, r
        return r.json

    def wait_answer(self, path, status, timeout=10):
        """GET path until it answers with `status`; return that answer."""
        def check():
            r = self.get(path)
            return r if r.status == status else None
        return wait_for(check, timeout, interval=0.1, what="GET %s to answer %d" % (path, status))

    def wait_status(self, db_id, status, timeout=30):
        def check():
            r = self.get("/databases/" + db_id)
            return r.json if r.status == 200 and r.json["status"] == status else None
        return wait_for(check, timeout, interval=0.05, what="database %s to be %s" % (db_id, status))

    def list_all(self, query=""):
        """Every record, following next_cursor."""
        items, cursor = [], None
        while True:
            q = query + ("&" if query else "") + "limit=100" + ("&cursor=" + cursor if cursor else "")
            r = self.get("/databases?" + q)
            assert r.status == 200, r
            items += r.json["items"]
            cursor = r.json["next_cursor"]
            if cursor is None:
                return items


def raw_exchange(port, data, timeout=10, read_all=True):
    """Send raw bytes, return (status or None, raw answer bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if data:
            s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
            if not read_all and b"\r\n\r\n" in b"".join(chunks):
                break
        answer = b"".join(chunks)
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return (int(m.group(1)) if m else None), answer


def split_answer(answer):
    """(headers dict lower-cased, body) of a raw HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        headers[k.decode().strip().lower()] = v.decode().strip()
    if headers.get("transfer-encoding") == "chunked":
        out, rest = b"", body
        while rest:
            size_s, _, rest = rest.partition(b"\r\n")
            size = int(size_s.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        body = out
    return headers, body


class ServerTestCase(unittest.TestCase):
    """Base: a kubesim and a daap-server on SQLite per class."""

    backing = False
    server_args = ()
    kubesim_extra = ()
    ready_delay = 0.3

    @classmethod
    def setUpClass(cls):
        if not SERVER_BIN or not os.path.exists(SERVER_BIN):
            raise unittest.SkipTest("daap-server not built (DAAP_SERVER_BIN)")
        cls.dir = work_dir("daap-server-test-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)  # cleanups run last-in first-out
        cls.openapi = OpenAPI()
        cls.sim = Kubesim(os.path.join(cls.dir, "kubesim"), backing=cls.backing, ready_delay=cls.ready_delay,
                          extra=cls.kubesim_extra)
        os.makedirs(cls.sim.state)
        os.chmod(cls.sim.state, 0o755)
        cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        cls.srv = Server(cls.dir, "sqlite://" + os.path.join(cls.dir, "daap.db"), cls.sim.kubeconfig,
                         args=list(cls.server_args), openapi=cls.openapi)
        cls.srv.start()
        cls.addClassCleanup(cls._stop_server)

    @classmethod
    def _stop_server(cls):
        cls.srv.stop_checked()
