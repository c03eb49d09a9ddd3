"""kubesim entry point: flags, certificates, kubeconfig, startup and clean shutdown."""
import argparse
import base64
import json
import os
import shutil
import signal
import ssl
import tempfile
import threading

from . import resources as R
from .api import Api
from .app import App, log
from .backing import Backing, BackingError
from .certs import ensure_certs
from .down import cleanup_leftovers, remove_run_files, running_kubesim
from .faults import Faults, Stats
from .operator import Operator
from .server import KubeServer
from .store import Store
from .util import random_alnum

SANS = ["IP:127.0.0.1", "IP:::1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"]


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
    args.listen = "%s:%d" % (host, port)
    other = running_kubesim(state_dir)
    if other:
        log("kubesim: state dir %s is in use by the kubesim with pid %d" % (state_dir, other))
        return 1
    cleanup_leftovers(state_dir)   # PostgreSQL/PgBouncer of an earlier kubesim that was SIGKILLed
    claim_state_dir(args, state_dir)
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_event.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop_event.set())
    parts = {}
    try:
        run(args, faults, state_dir, host, port, parts)
        while not stop_event.wait(0.5):
            pass
        return 0
    except (BackingError, RuntimeError, OSError) as e:
        log("kubesim: %s" % e)
        return 1
    finally:
        shutdown(parts, state_dir, tmp_state)


def claim_state_dir(args, state_dir):
    """The token (reused across restarts, so old kubeconfigs keep working) and the pid file."""
    token_file = os.path.join(state_dir, "token")
    if not args.token and os.path.exists(token_file):
        with open(token_file) as f:
            args.token = f.read().strip()
    if not args.token:
        args.token = random_alnum(40)
    write_file(token_file, args.token + "\n")
    write_file(os.path.join(state_dir, "kubesim.pid"), "%d\n" % os.getpid(), 0o644)


def connect_host_of(host):
    return "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)


def tls_context(state_dir, connect_host):
    """The server's TLS context; client certificates signed by pki/client-ca.crt are accepted."""
    sans = list(SANS)
    if connect_host not in ("127.0.0.1", "::1", "localhost"):
        is_ip = connect_host.replace(".", "").replace(":", "").isalnum() and any(c.isdigit() for c in connect_host)
        sans.append(("IP:" if is_ip else "DNS:") + connect_host)
    certdir = os.path.join(state_dir, "pki")
    ensure_certs(certdir, sans)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(certdir, "server.crt"), os.path.join(certdir, "server.key"))
    ctx.load_verify_locations(os.path.join(certdir, "client-ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def run(args, faults, state_dir, host, port, parts):
    """Builds and starts every part; parts gets each one as soon as it exists, for shutdown()."""
    connect_host = connect_host_of(host)
    ssl_ctx = None if args.http else tls_context(state_dir, connect_host)
    store = Store(history_limit=max(1000, args.watch_history))
    if not args.no_backing:
        parts["backing"] = Backing(state_dir, args.pg_uri, args.pooler_addr_mode, log=log)
        parts["backing"].start()
    backing = parts.get("backing")
    operator = parts["operator"] = Operator(store, faults, backing, args.ready_delay, args.pooler_delay, log=log)
    for ns in ("default", "kube-system", "kube-public", args.namespace):
        make_namespace(store, ns)
    app = parts["app"] = App(args, store, operator, Api(store, operator, faults), faults, Stats(), backing,
                             state_dir)
    server = parts["server"] = KubeServer((host, port), app)
    port = server.server_address[1]
    app.server_address = "%s:%d" % (connect_host, port)
    if ssl_ctx is not None:
        server.socket = ssl_ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    hostpart = "[%s]" % connect_host if ":" in connect_host else connect_host
    app.url = "%s://%s:%d" % ("http" if args.http else "https", hostpart, port)
    write_kubeconfigs(args, app, state_dir)
    write_file(os.path.join(state_dir, "url"), app.url + "\n", 0o644)
    operator.start()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True).start()
    write_file(os.path.join(state_dir, "kubesim.port"), "%d\n" % port, 0o644)
    print("kubesim: listening on %s" % app.url, flush=True)
    print("kubesim: kubeconfig %s" % app.kubeconfig, flush=True)


def write_kubeconfigs(args, app, state_dir):
    """STATE/kubeconfig (token) and, over https, STATE/kubeconfig-client-cert; copies where asked."""
    pki = os.path.join(state_dir, "pki")

    def read(name):
        with open(os.path.join(pki, name)) as f:
            return f.read()
    ca_pem = None if args.http else read("ca.crt")
    kc = kubeconfig_yaml(app.url, ca_pem, args.namespace, token=args.token)
    kc_path = os.path.join(state_dir, "kubeconfig")
    write_file(kc_path, kc)
    app.kubeconfig = os.path.abspath(args.kubeconfig_out) if args.kubeconfig_out else kc_path
    if args.kubeconfig_out:
        write_file(args.kubeconfig_out, kc)
    if args.http:
        if args.client_cert_kubeconfig_out:
            log("kubesim: --client-cert-kubeconfig-out ignored with --http")
        return
    kcc = kubeconfig_yaml(app.url, ca_pem, args.namespace, cert_pem=read("client.crt"), key_pem=read("client.key"))
    write_file(os.path.join(state_dir, "kubeconfig-client-cert"), kcc)
    if args.client_cert_kubeconfig_out:
        write_file(args.client_cert_kubeconfig_out, kcc)


def shutdown(parts, state_dir, tmp_state):
    """Stops the HTTP server, the operator, every PgBouncer and the PostgreSQL kubesim started."""
    if "app" in parts:
        parts["app"].stopping = True
    if "server" in parts:
        parts["server"].shutdown()
        parts["server"].server_close()
    if "operator" in parts:
        parts["operator"].stop()
    if "backing" in parts:
        try:
            parts["backing"].stop()
        except Exception as e:
            log("kubesim: backing cleanup: %s" % e)
    remove_run_files(state_dir)
    if tmp_state:
        shutil.rmtree(state_dir, ignore_errors=True)
    log("kubesim: stopped")
