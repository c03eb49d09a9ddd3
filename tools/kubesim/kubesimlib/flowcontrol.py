"""API Priority and Fairness, as far as a client can see it: which FlowSchema and priority level
classified a request. A real server (APF is on by default since Kubernetes 1.20) answers every
request that passed authentication with two headers that carry the UIDs of both objects, never
their names (k8s.io/api flowcontrol/v1 types.go: ResponseHeaderMatched*). kubesim queues and
rejects nothing: it classifies the way the built-in configuration would and says so."""
import threading
import uuid

FLOW_SCHEMA_HEADER = "X-Kubernetes-PF-FlowSchema-UID"
PRIORITY_LEVEL_HEADER = "X-Kubernetes-PF-PriorityLevel-UID"

# (FlowSchema name, PriorityLevelConfiguration name) of the built-in configuration:
# kubesim's single local identity is a cluster admin (system:masters), matched by "exempt";
# health probes match "probes"; anything else anonymous falls to "global-default".
LOCAL_USER_FLOW = ("exempt", "exempt")
PROBES_FLOW = ("probes", "exempt")
ANONYMOUS_FLOW = ("global-default", "global-default")
PROBE_PATHS = ("/healthz", "/livez", "/readyz")


def classify_public(path):
    """The flow of an unauthenticated request for a public path."""
    top = "/" + path.strip("/").split("/")[0]
    return PROBES_FLOW if top in PROBE_PATHS else ANONYMOUS_FLOW


class FlowControl:
    """The UIDs of the FlowSchemas and priority levels: one random UID per object, fixed for the
    life of the server, as the objects a real server keeps in etcd."""

    def __init__(self):
        self._uids = {}
        self._lock = threading.Lock()

    def uid(self, kind, name):
        with self._lock:
            return self._uids.setdefault((kind, name), str(uuid.uuid4()))

    def uids(self, flow):
        """(FlowSchema UID, priority level UID) of a (FlowSchema, priority level) pair."""
        return self.uid("FlowSchema", flow[0]), self.uid("PriorityLevelConfiguration", flow[1])
