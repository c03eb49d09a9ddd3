"""kubesim entry point: flags, certificates, kubeconfig, startup and clean shutdown."""
import argparse
import base64
import json
import os
import queue
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time

from . import openapi
from . import resources as R
from .api import Api
from .backing import Backing, BackingError
from .certs import ensure_certs
from .faults import Faults, Stats
from .operator import Operator
from .selectors import parse_field_selector, parse_label_selector
from .server import KubeServer, TABLE_CT
from .store import Store
from .util import ApiError, dumps, now_rfc3339, query_bool, random_alnum

KUBE_MINOR = "32"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def write_file(path, content, mode=0o600):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".kubesim-")
    with os.fdopen(fd, "w") as f:
        f.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def kubeconfig_yaml(server, ca_pem, namespace, token=None, cert_pem=None, key_pem=None):
    b = lambda s: base64.b64encode(s.encode()).decode()
    lines = ["apiVersion: v1", "kind: Config", "preferences: {}", "current-context: kubesim", "clusters:",
             "- name: kubesim", "  cluster:", "    server: %s" % server]
    if ca_pem:
        lines.append("    certificate-authority-data: %s" % b(ca_pem))
    lines += ["contexts:", "- name: kubesim", "  context:", "    cluster: kubesim", "    user: kubesim",
              "    namespace: %s" % namespace, "users:", "- name: kubesim", "  user:"]
    if token:
        lines.append("    token: %s" % token)
    if cert_pem:
        lines.append("    client-certificate-data: %s" % b(cert_pem))
        lines.append("    client-key-data: %s" % b(key_pem))
    if not token and not cert_pem:
        lines[-1] = "  user: {}"
    return "\n".join(lines) + "\n"


class Admin:
    """/kubesim/... : stats, faults, runtime cluster control, backing information."""

    def __init__(self, app):
        self.app = app

    def handle(self, h, path, params):
        app = self.app
        parts = [p for p in path.split("/") if p][1:]
        m = h.command
        try:
            if parts == ["stats"] and m == "GET":
                d = app.stats.to_json()
                d["watches_active"] = app.store.watcher_count()
                d["objects"] = {r.plural: app.store.count(r) for r in R.ALL}
                d["resource_version"] = str(app.store.current_rv())
                return h._send(200, d)
            if parts in (["reset-stats"], ["stats", "reset"]) and m in ("POST", "PUT"):
                app.stats.reset()
                return h._send(200, {"ok": True})
            if parts == ["faults"]:
                if m == "GET":
                    return h._send(200, app.faults.to_json())
                if m in ("POST", "PUT", "PATCH"):
                    raw = h._raw
                    try:
                        doc = json.loads(raw.decode() or "{}")
                        app.faults.update(doc, replace=(m == "PUT"))
                    except ValueError as e:
                        return h._send(400, {"error": str(e)})
                    app.operator.resync()
                    return h._send(200, app.faults.to_json())
                if m == "DELETE":
                    app.faults.reset()
                    app.operator.resync()
                    return h._send(200, app.faults.to_json())
            if len(parts) == 4 and parts[0] == "clusters" and m == "POST":
                ns, name, action = parts[1], parts[2], parts[3]
                if action not in ("fail", "stuck", "ready", "reset"):
                    return h._send(400, {"error": "action must be fail, stuck, ready or reset"})
                if not app.operator.mark_cluster(ns, name, action):
                    return h._send(404, {"error": 'cluster "%s/%s" not found' % (ns, name)})
                return h._send(200, {"ok": True, "namespace": ns, "name": name, "action": action})
            if parts == ["poolers"] and m == "GET":
                out = []
                if app.backing is not None:
                    by_uid = {}
                    for r in app.store.list(R.POOLERS, None, [], [])[0]:
                        by_uid[r.md["uid"]] = r.md
                    for info in app.backing.pooler_info():
                        md = by_uid.get(info["key"], {})
                        info["namespace"] = md.get("namespace")
                        info["name"] = md.get("name")
                        out.append(info)
                return h._send(200, {"items": out})
            if parts in (["info"], []) and m == "GET":
                return h._send(200, app.info())
            return h._send(404, {"error": "unknown admin endpoint %s %s" % (m, path)})
        finally:
            pass


class App:
    def __init__(self, args, store, operator, api, faults, stats, backing, state_dir):
        self.args = args
        self.store = store
        self.operator = operator
        self.api = api
        self.faults = faults
        self.stats = stats
        self.backing = backing
        self.state_dir = state_dir
        self.tls = not args.http
        self.token = args.token
        self.server_address = args.listen
        self.admin = Admin(self)
        self.openapi_v2_pb = openapi.v2_protobuf()
        self.stopping = False
        self.bookmark_interval = args.bookmark_interval
        self.log = log
        self.access_file = None
        if args.access_log:
            self.access_file = sys.stderr if args.access_log == "-" else open(args.access_log, "a", buffering=1)
        self.access_lock = threading.Lock()
        self.url = None
        self.kubeconfig = None

    def info(self):
        d = {"url": self.url, "kubeconfig": self.kubeconfig, "state_dir": self.state_dir, "pid": os.getpid(),
             "tls": self.tls, "namespace": self.args.namespace, "backing": None,
             "ready_delay": self.args.ready_delay, "pooler_delay": self.args.pooler_delay}
        if self.backing is not None:
            d["backing"] = {"host": self.backing.host, "port": self.backing.port, "user": self.backing.user,
                            "own_server": self.backing.own_pg}
        return d

    def version_doc(self):
        return {"major": "1", "minor": KUBE_MINOR, "gitVersion": "v1.%s.0-kubesim" % KUBE_MINOR,
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc",
                "platform": "linux/amd64"}

    def access(self, h, code, dt):
        f = self.access_file
        if f is None:
            return
        with self.access_lock:
            f.write("%s %s %s %s %.1fms %s\n" % (now_rfc3339(), h.command, h.path, code, dt * 1000,
                                                 h.headers.get("User-Agent", "")))

    def before_request(self, h, verb, resource):
        f = self.faults
        lat = f.latency_for(verb)
        if lat:
            time.sleep(lat / 1000.0)
        code = f.pick_error(verb, resource)
        if code is not None:
            self.stats.inject("error_%d" % code)
            ra = f.retry_after_seconds
            ra_s = str(int(ra)) if float(ra).is_integer() else str(ra)
            reason, msg = {500: ("InternalError", 'an error on the server ("kubesim: injected fault") has '
                                 'prevented the request from succeeding'),
                           503: ("ServiceUnavailable", "the server is currently unable to handle the request "
                                 "(kubesim: injected fault)"),
                           429: ("TooManyRequests", "the server has received too many requests and has asked us "
                                 "to try again later (kubesim: injected fault)")}[code]
            raise ApiError(code, reason, msg, {"retryAfterSeconds": int(ra),
                                               "causes": [{"reason": "UnexpectedServerResponse",
                                                           "message": "kubesim: injected fault"}]},
                           headers={"Retry-After": ra_s})

    # ------------------------------------------------------------------ watch
    def _event(self, res, item, table, include, first, raw_of):
        etype = item[0]
        if etype == "BOOKMARK":
            md = {"resourceVersion": str(item[1])}
            if item[2]:
                md["annotations"] = {"k8s.io/initial-events-end": "true"}
            return dumps({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                                          "metadata": md}}) + b"\n"
        rec = item[1]
        if table:
            return dumps({"type": etype, "object": R.table(res, [rec.obj], str(rec.rv), include,
                                                            with_columns=first)}) + b"\n"
        return b'{"type":"%s","object":%s}\n' % (etype.encode(), raw_of(rec))

    def watch(self, h, route, params, res, raw_of):
        """Streams the watch events of res (the stored resource behind route.res), each object
        serialized by raw_of."""
        lsel = parse_label_selector(params.get("labelSelector"))
        fsel = parse_field_selector(params.get("fieldSelector"), res)
        rv = params.get("resourceVersion")
        bookmarks = query_bool(params, "allowWatchBookmarks")
        si = query_bool(params, "sendInitialEvents", None)
        timeout = None
        if params.get("timeoutSeconds"):
            try:
                timeout = float(params["timeoutSeconds"])
            except ValueError:
                raise ApiError(400, "BadRequest", "timeoutSeconds must be a number")
        table = h._wants_table()
        include = params.get("includeObject", "Metadata")
        f = self.faults
        ctype = TABLE_CT if table else "application/json"
        if f.watch_410_on_resume and rv not in (None, "", "0"):
            self.stats.inject("watch_410")
            err = ApiError(410, "Expired", "too old resource version: %s (%d)" % (rv, self.store.current_rv()))
            if f.watch_410_mode == "http":
                raise err
            h.start_chunked(ctype)
            h.write_chunk(dumps({"type": "ERROR", "object": err.status()}) + b"\n")
            h.end_chunked()
            return
        try:
            w = self.store.watch(res, route.ns, lsel, fsel, rv, si, bookmarks)
        except ApiError as e:
            if e.code != 410:
                raise
            h.start_chunked(ctype)
            h.write_chunk(dumps({"type": "ERROR", "object": e.status()}) + b"\n")
            h.end_chunked()
            return
        try:
            h.start_chunked(ctype)
            start = time.monotonic()
            last_bm = start
            first = True
            while True:
                now = time.monotonic()
                if self.stopping:
                    h.end_chunked()
                    h.close_connection = True
                    return
                if timeout is not None and now - start >= timeout:
                    h.end_chunked()
                    return
                drop = f.watch_drop_seconds
                if drop > 0 and now - start >= drop:
                    self.stats.inject("watch_drop")
                    if f.watch_drop_mode == "end":
                        h.end_chunked()
                    else:
                        h.abort()
                    return
                if bookmarks and now - last_bm >= self.bookmark_interval:
                    self.store.bookmark(w)
                    last_bm = now
                wait = 1.0
                if timeout is not None:
                    wait = min(wait, max(0.0, start + timeout - now))
                if drop > 0:
                    wait = min(wait, max(0.0, start + drop - now))
                if bookmarks:
                    wait = min(wait, max(0.0, last_bm + self.bookmark_interval - now))
                try:
                    item = w.q.get(timeout=max(wait, 0.001))
                except queue.Empty:
                    if h.client_gone():
                        h.close_connection = True
                        return
                    continue
                buf = [self._event(route.res, item, table, include, first, raw_of)]
                first = False
                for _ in range(256):
                    try:
                        item = w.q.get_nowait()
                    except queue.Empty:
                        break
                    buf.append(self._event(route.res, item, table, include, False, raw_of))
                h.write_chunk(b"".join(buf))
        finally:
            self.store.unwatch(w)


def parse_listen(s):
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    if not host:
        host = "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"
    return host, int(port or 0)


def build_parser():
    p = argparse.ArgumentParser(prog="kubesim", description="Kubernetes API + CNPG operator simulator.")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on (PORT 0 = pick a free port)")
    p.add_argument("--kubeconfig-out", help="write a kubeconfig (token) here (always also STATE_DIR/kubeconfig)")
    p.add_argument("--client-cert-kubeconfig-out", help="write a kubeconfig that uses a client certificate here")
    p.add_argument("--state-dir", help="certificates, pids, PostgreSQL/PgBouncer dirs (default: a temp dir)")
    p.add_argument("--token", help="bearer token to accept (default: reuse STATE_DIR/token or generate)")
    p.add_argument("--namespace", default="daap", help="namespace created at start and set in the kubeconfig")
    p.add_argument("--http", action="store_true", help="serve plain http (debugging; kubectl sends no token)")
    p.add_argument("--no-backing", action="store_true", help="fake credentials only, no PostgreSQL/PgBouncer")
    p.add_argument("--pg-uri", help="use this existing PostgreSQL (superuser URI) instead of starting one")
    p.add_argument("--pooler-addr-mode", choices=["loopback", "port"], default="loopback",
                   help="loopback: each PgBouncer on its own 127.0.X.Y:5432; port: 127.0.0.1 and a free port")
    p.add_argument("--ready-delay", type=float, default=2.0, help="seconds from Cluster creation to Ready")
    p.add_argument("--pooler-delay", type=float, default=1.0, help="seconds from Pooler creation to ready replicas")
    p.add_argument("--bookmark-interval", type=float, default=15.0, help="seconds between watch BOOKMARKs")
    p.add_argument("--watch-history", type=int, default=100000, help="watch events kept per resource")
    p.add_argument("--access-log", help="append one line per request to this file ('-' = stderr)")
    g = p.add_argument_group("faults (also settable at runtime through /kubesim/faults)")
    g.add_argument("--faults", help="fault JSON document, or @FILE")
    g.add_argument("--latency-ms", type=float, help="added latency per API request")
    g.add_argument("--error-rate", action="append", default=[], metavar="VERB[:RESOURCE]=RATE",
                   help="fraction of requests answered with an error (repeatable; VERB may be *)")
    g.add_argument("--error-codes", help="comma-separated codes to inject, from 500,503,429 (default all)")
    g.add_argument("--retry-after", type=float, help="Retry-After seconds on injected errors (default 1)")
    g.add_argument("--watch-drop-seconds", type=float, help="cut every watch after this many seconds")
    g.add_argument("--watch-drop-mode", choices=["close", "end"], help="close the connection (default) or end the stream")
    g.add_argument("--watch-410-on-resume", action="store_true", help="answer 410 Expired to watches with a resourceVersion")
    g.add_argument("--never-ready", nargs="?", const=True, metavar="REGEX",
                   help="clusters (all, or names matching REGEX) stay in 'Setting up primary'")
    g.add_argument("--fail-clusters", metavar="REGEX", help="clusters matching REGEX fail instead of becoming ready")
    g.add_argument("--slow-delete-seconds", type=float, help="deleting a Cluster or Pooler takes this long")
    return p


def faults_from_args(args):
    d = {}
    if args.faults:
        src = args.faults
        if src.startswith("@"):
            with open(src[1:]) as f:
                src = f.read()
        d.update(json.loads(src))
    if args.latency_ms is not None:
        d["latency_ms"] = args.latency_ms
    if args.error_rate:
        er = dict(d.get("error_rate") or {})
        for item in args.error_rate:
            k, _, v = item.partition("=")
            er[k] = float(v)
        d["error_rate"] = er
    if args.error_codes:
        d["error_codes"] = [int(c) for c in args.error_codes.split(",") if c]
    if args.retry_after is not None:
        d["retry_after_seconds"] = args.retry_after
    if args.watch_drop_seconds is not None:
        d["watch_drop_seconds"] = args.watch_drop_seconds
    if args.watch_drop_mode:
        d["watch_drop_mode"] = args.watch_drop_mode
    if args.watch_410_on_resume:
        d["watch_410_on_resume"] = True
    if args.never_ready is not None:
        d["never_ready"] = args.never_ready
    if args.fail_clusters:
        d["fail_clusters"] = args.fail_clusters
    if args.slow_delete_seconds is not None:
        d["slow_delete_seconds"] = args.slow_delete_seconds
    return d


def make_namespace(store, name):
    obj = {"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    if store.get(R.NAMESPACES, "", name) is None:
        store.create(R.NAMESPACES, obj)


def main(argv=None):
    args = build_parser().parse_args(argv)
    faults = Faults()
    try:
        faults.update(faults_from_args(args))
    except (ValueError, OSError) as e:
        log("kubesim: bad fault settings: %s" % e)
        return 2
    tmp_state = args.state_dir is None
    state_dir = os.path.abspath(args.state_dir or tempfile.mkdtemp(prefix="kubesim-"))
    os.makedirs(state_dir, exist_ok=True)
    host, port = parse_listen(args.listen)
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    args.listen = "%s:%d" % (host, port)

    from .down import cleanup_leftovers, running_kubesim
    other = running_kubesim(state_dir)
    if other:
        log("kubesim: state dir %s is in use by the kubesim with pid %d" % (state_dir, other))
        return 1
    cleanup_leftovers(state_dir)   # PostgreSQL/PgBouncer of an earlier kubesim that was SIGKILLed
    token_file = os.path.join(state_dir, "token")
    if not args.token:
        if os.path.exists(token_file):
            with open(token_file) as f:
                args.token = f.read().strip()
        if not args.token:
            args.token = random_alnum(40)
    write_file(token_file, args.token + "\n")
    write_file(os.path.join(state_dir, "kubesim.pid"), "%d\n" % os.getpid(), 0o644)

    stop_event = threading.Event()

    def on_signal(signum, frame):
        stop_event.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    backing = None
    server = None
    operator = None
    app = None
    try:
        ssl_ctx = None
        if not args.http:
            sans = ["IP:127.0.0.1", "IP:::1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
                    "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"]
            if connect_host not in ("127.0.0.1", "::1", "localhost"):
                sans.append(("IP:" if connect_host.replace(".", "").replace(":", "").isalnum() and
                             any(c.isdigit() for c in connect_host) else "DNS:") + connect_host)
            certdir = os.path.join(state_dir, "pki")
            ensure_certs(certdir, sans)
            ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ssl_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ssl_ctx.load_cert_chain(os.path.join(certdir, "server.crt"), os.path.join(certdir, "server.key"))
            ssl_ctx.load_verify_locations(os.path.join(certdir, "client-ca.crt"))
            ssl_ctx.verify_mode = ssl.CERT_OPTIONAL

        stats = Stats()
        store = Store(history_limit=max(1000, args.watch_history))
        if not args.no_backing:
            backing = Backing(state_dir, args.pg_uri, args.pooler_addr_mode, log=log)
            backing.start()
        operator = Operator(store, faults, backing, args.ready_delay, args.pooler_delay, log=log)
        api = Api(store, operator, faults)
        for ns in ("default", "kube-system", "kube-public", args.namespace):
            make_namespace(store, ns)
        app = App(args, store, operator, api, faults, stats, backing, state_dir)
        server = KubeServer((host, port), app)
        port = server.server_address[1]
        app.server_address = "%s:%d" % (connect_host, port)
        if ssl_ctx is not None:
            server.socket = ssl_ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "http" if args.http else "https"
        hostpart = "[%s]" % connect_host if ":" in connect_host else connect_host
        url = "%s://%s:%d" % (scheme, hostpart, port)
        app.url = url
        ca_pem = None
        if not args.http:
            with open(os.path.join(state_dir, "pki", "ca.crt")) as f:
                ca_pem = f.read()
        kc = kubeconfig_yaml(url, ca_pem, args.namespace, token=args.token)
        kc_path = os.path.join(state_dir, "kubeconfig")
        write_file(kc_path, kc)
        app.kubeconfig = os.path.abspath(args.kubeconfig_out) if args.kubeconfig_out else kc_path
        if args.kubeconfig_out:
            write_file(args.kubeconfig_out, kc)
        if not args.http:
            with open(os.path.join(state_dir, "pki", "client.crt")) as f:
                cert = f.read()
            with open(os.path.join(state_dir, "pki", "client.key")) as f:
                key = f.read()
            kcc = kubeconfig_yaml(url, ca_pem, args.namespace, cert_pem=cert, key_pem=key)
            write_file(os.path.join(state_dir, "kubeconfig-client-cert"), kcc)
            if args.client_cert_kubeconfig_out:
                write_file(args.client_cert_kubeconfig_out, kcc)
        elif args.client_cert_kubeconfig_out:
            log("kubesim: --client-cert-kubeconfig-out ignored with --http")
        write_file(os.path.join(state_dir, "url"), url + "\n", 0o644)
        operator.start()
        t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
        t.start()
        write_file(os.path.join(state_dir, "kubesim.port"), "%d\n" % port, 0o644)
        print("kubesim: listening on %s" % url, flush=True)
        print("kubesim: kubeconfig %s" % app.kubeconfig, flush=True)
        while not stop_event.wait(0.5):
            pass
        return 0
    except (BackingError, RuntimeError, OSError) as e:
        log("kubesim: %s" % e)
        return 1
    finally:
        if app is not None:
            app.stopping = True
        if server is not None:
            server.shutdown()
            server.server_close()
        if operator is not None:
            operator.stop()
        if backing is not None:
            try:
                backing.stop()
            except Exception as e:
                log("kubesim: backing cleanup: %s" % e)
        for f in ("kubesim.pid", "kubesim.port", "url"):
            try:
                os.unlink(os.path.join(state_dir, f))
            except OSError:
                pass
        if tmp_state:
            shutil.rmtree(state_dir, ignore_errors=True)
        log("kubesim: stopped")
