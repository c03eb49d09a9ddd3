"""Events: the core v1 Events the simulated operator records, and the events.k8s.io/v1 view of them.

A real API server stores one kind of Event and serves it in both groups. kubesim does the same:
Events are stored as core v1 objects, and events.k8s.io/v1 requests convert on the way in and out
(the field names follow k8s.io/api/events/v1: regarding, note, reportingController, deprecated*).
"""
import datetime

from .util import human_age, random_alnum

# core v1 field selectors a real server accepts on events (besides metadata.name/namespace)
CORE_FIELDS = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
               "reason", "reportingComponent", "source", "type")
# events.k8s.io/v1 field -> the core v1 field it is stored as
_V1_TO_CORE = {"regarding": "involvedObject", "note": "message", "reportingController": "reportingComponent",
               "deprecatedSource": "source", "deprecatedFirstTimestamp": "firstTimestamp",
               "deprecatedLastTimestamp": "lastTimestamp", "deprecatedCount": "count"}
_CORE_TO_V1 = {v: k for k, v in _V1_TO_CORE.items()}
V1_FIELDS = tuple(f.replace("involvedObject.", "regarding.").replace("reportingComponent", "reportingController")
                  .replace("source", "deprecatedSource") for f in CORE_FIELDS)


def _micro_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def core_event(obj, etype, reason, message, component, now):
    """A new core v1 Event about obj (a stored object), as client-go's event recorder writes it."""
    md = obj["metadata"]
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "%s.%s" % (md["name"], random_alnum(16).lower()), "namespace": md["namespace"]},
            "involvedObject": {"kind": obj["kind"], "namespace": md["namespace"], "name": md["name"],
                               "uid": md["uid"], "apiVersion": obj["apiVersion"],
                               "resourceVersion": md.get("resourceVersion", "")},
            "reason": reason, "message": message, "type": etype,
            "source": {"component": component}, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "eventTime": None, "reportingComponent": component, "reportingInstance": ""}


def to_v1(obj):
    """A stored core v1 Event as an events.k8s.io/v1 Event."""
    out = {"apiVersion": "events.k8s.io/v1"}
    for k, v in obj.items():
        if k == "apiVersion" or v is None:
            continue
        out[_CORE_TO_V1.get(k, k)] = v
    if not out.get("eventTime"):
        out["eventTime"] = _micro_now() if not obj.get("firstTimestamp") else \
            obj["firstTimestamp"].replace("Z", ".000000Z")
    return out


def to_core(obj):
    """An events.k8s.io/v1 Event (a create or update body) as the core v1 Event kubesim stores."""
    out = {"apiVersion": "v1"}
    for k, v in obj.items():
        if k != "apiVersion":
            out[_V1_TO_CORE.get(k, k)] = v
    return out


def core_field_selector(s):
    """An events.k8s.io/v1 field selector rewritten on the stored core v1 fields."""
    if not s:
        return s
    for v1, core in sorted(_V1_TO_CORE.items(), key=lambda kv: -len(kv[0])):
        s = s.replace(v1 + ".", core + ".").replace(v1 + "=", core + "=").replace(v1 + "!=", core + "!=")
    return s


def table_cells(obj):
    """kubectl's columns for core Events: Last Seen, Type, Reason, Object, Message (and, wide, the rest)."""
    io = obj.get("involvedObject") or {}
    last = obj.get("lastTimestamp") or obj.get("eventTime") or (obj.get("metadata") or {}).get("creationTimestamp")
    src = obj.get("source") or {}
    return [human_age((last or "")[:19] + "Z") if last else "<unknown>", obj.get("type", ""), obj.get("reason", ""),
            "%s/%s" % ((io.get("kind") or "").lower(), io.get("name", "")), obj.get("message", ""),
            io.get("fieldPath", ""), ", ".join(x for x in (src.get("component"), src.get("host")) if x),
            human_age(obj.get("firstTimestamp")) if obj.get("firstTimestamp") else "<unknown>",
            obj.get("count", 1), (obj.get("metadata") or {}).get("name")]
