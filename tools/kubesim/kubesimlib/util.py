"""Small helpers shared by every module: time, names, JSON, Status errors."""
import datetime
import functools
import json
import secrets
import string
import time
import uuid

_ALNUM = string.ascii_letters + string.digits


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s):
    """The UTC datetime of "YYYY-MM-DDTHH:MM:SSZ", or None. The form kubesim writes takes
    fromisoformat, about ten times faster than strptime: a Table of 10,000 rows parses 10,000
    creation timestamps for its Age column."""
    if isinstance(s, str) and len(s) == 20 and s[10] == "T" and s[19] == "Z":
        try:
            return datetime.datetime.fromisoformat(s[:19]).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            pass
    try:
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=65536)
def _epoch(ts):
    """Seconds since the epoch of an RFC 3339 timestamp, or None; cached, since the objects of a
    large list share few creation seconds."""
    t = parse_rfc3339(ts)
    return None if t is None else t.timestamp()


def human_age(ts):
    """Kubernetes' duration.HumanDuration of the time since an RFC 3339 timestamp."""
    t = _epoch(ts) if isinstance(ts, str) else None
    if t is None:
        return "<unknown>"
    secs = int(time.time() - t)
    if secs < 0:
        secs = 0
    if secs < 120:
        return "%ds" % secs
    mins = secs // 60
    if mins < 10:
        s = secs % 60
        return "%dm%ds" % (mins, s) if s else "%dm" % mins
    if mins < 180:
        return "%dm" % mins
    hours = mins // 60
    if hours < 8:
        m = mins % 60
        return "%dh%dm" % (hours, m) if m else "%dh" % hours
    if hours < 48:
        return "%dh" % hours
    if hours < 192:
        h = hours % 24
        return "%dd%dh" % (hours // 24, h) if h else "%dd" % (hours // 24)
    days = hours // 24
    if days < 365 * 2:
        return "%dd" % days
    return "%dy" % (days // 365)


def new_uid():
    return str(uuid.uuid4())


def random_alnum(n):
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def random_suffix(n=5):
    # Kubernetes' generateName alphabet (no vowels, no confusable digits).
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def deepcopy_json(obj):
    """A fast deep copy for JSON-shaped data (dict/list/scalars)."""
    if isinstance(obj, dict):
        return {k: deepcopy_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [deepcopy_json(v) for v in obj]
    return obj


class ApiError(Exception):
    """An error answered as a Kubernetes Status object."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            st["details"] = self.details
        return st


def not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (res.qualified, name),
                    {"name": name, "group": res.group, "kind": res.plural})


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (res.qualified, name),
                    {"name": name, "group": res.group, "kind": res.plural})


def conflict(res, name, msg=None):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": %s' % (
                        res.qualified, name,
                        msg or "the object has been modified; please apply your changes to the latest version and try again"),
                    {"name": name, "group": res.group, "kind": res.plural})


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def invalid(res, name, causes):
    """causes: list of (field, message, reason)."""
    parts = []
    cl = []
    for field, msg, reason in causes:
        parts.append("%s: %s" % (field, msg) if field else msg)
        cl.append({"reason": reason, "message": msg, "field": field})
    if len(parts) == 1:
        text = parts[0]
    else:
        text = "[" + ", ".join(parts) + "]"
    return ApiError(422, "Invalid", '%s.%s "%s" is invalid: %s' % (
        res.kind, res.group, name, text) if res.group else '%s "%s" is invalid: %s' % (res.kind, name, text),
        {"name": name, "group": res.group, "kind": res.kind, "causes": cl})


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def query_bool(params, name, default=False):
    """A boolean query parameter, spelled as Go's strconv.ParseBool accepts it; else 400."""
    v = params.get(name)
    if v is None:
        return default
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ApiError(400, "BadRequest", 'invalid value for query parameter %s: strconv.ParseBool: parsing "%s": '
                   'invalid syntax' % (name, v))
