"""The running server's shared state: what the HTTP handlers reach through self.server.app."""
import os
import sys
import threading

from . import openapi
from .flowcontrol import FlowControl
from .admin import Admin
from .faults import inject_fault
from .util import now_rfc3339

KUBE_MINOR = "32"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class App:
    """Wiring of the parts, the version document, the access log and per-request fault injection."""

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
        self.flow_control = FlowControl()
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
        """Latency and injected errors for an API request (faults.py)."""
        inject_fault(self.faults, self.stats, verb, resource)
