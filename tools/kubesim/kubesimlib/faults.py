"""Runtime fault injection settings and request counters."""
import random
import re
import threading
import time

from .util import ApiError, now_rfc3339

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
DEFAULT_CODES = [500, 503, 429]


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.latency_ms = 0
        self.latency_ms_by_verb = {}
        self.error_rate = {}            # "verb" | "verb:resource" | "*" -> fraction
        self.error_codes = list(DEFAULT_CODES)
        self.retry_after_seconds = 1
        self.error_next = {}            # same keys -> number of next requests to fail
        self.watch_drop_seconds = 0.0
        self.watch_drop_mode = "close"  # close: cut the TCP connection; end: finish the chunked body
        self.watch_410_on_resume = False
        self.watch_410_mode = "event"   # event: 200 + ERROR event (like the API server); http: HTTP 410
        self.never_ready = False        # True or a regex (string)
        self.fail_clusters = None       # regex or None
        self.slow_delete_seconds = 0.0
        self._rx_cache = {}

    def to_json(self):
        with self.lock:
            return {
                "latency_ms": self.latency_ms,
                "latency_ms_by_verb": dict(self.latency_ms_by_verb),
                "error_rate": dict(self.error_rate),
                "error_codes": list(self.error_codes),
                "retry_after_seconds": self.retry_after_seconds,
                "error_next": dict(self.error_next),
                "watch_drop_seconds": self.watch_drop_seconds,
                "watch_drop_mode": self.watch_drop_mode,
                "watch_410_on_resume": self.watch_410_on_resume,
                "watch_410_mode": self.watch_410_mode,
                "never_ready": self.never_ready,
                "fail_clusters": self.fail_clusters,
                "slow_delete_seconds": self.slow_delete_seconds,
            }

    def update(self, d, replace=False):
        """Apply a (partial) JSON fault document. Raises ValueError on a bad document."""
        if not isinstance(d, dict):
            raise ValueError("faults must be a JSON object")
        known = set(self.to_json())
        unknown = set(d) - known
        if unknown:
            raise ValueError("unknown fault field(s): %s (known: %s)" % (", ".join(sorted(unknown)),
                                                                        ", ".join(sorted(known))))
        new = Faults()
        if not replace:
            new.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("lock",)})
            new.lock = threading.Lock()
        for k, v in d.items():
            if k in ("latency_ms", "retry_after_seconds"):
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                    raise ValueError("%s must be a number >= 0" % k)
                setattr(new, k, v)
            elif k in ("watch_drop_seconds", "slow_delete_seconds"):
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                    raise ValueError("%s must be a number >= 0" % k)
                setattr(new, k, float(v))
            elif k in ("error_rate", "error_next", "latency_ms_by_verb"):
                if not isinstance(v, dict):
                    raise ValueError("%s must be an object keyed by verb or verb:resource" % k)
                for kk, vv in v.items():
                    verb = kk.split(":", 1)[0]
                    if verb != "*" and verb not in VERBS:
                        raise ValueError("%s: unknown verb %r (verbs: %s, or *)" % (k, verb, ", ".join(VERBS)))
                    if not isinstance(vv, (int, float)) or isinstance(vv, bool) or vv < 0:
                        raise ValueError("%s[%s] must be a number >= 0" % (k, kk))
                    if k == "error_rate" and vv > 1:
                        raise ValueError("error_rate[%s] must be between 0 and 1" % kk)
                setattr(new, k, {kk: (int(vv) if k == "error_next" else vv) for kk, vv in v.items() if vv})
            elif k == "error_codes":
                if not isinstance(v, list) or not v or any(c not in (500, 503, 429) for c in v):
                    raise ValueError("error_codes must be a non-empty list of 500, 503, 429")
                new.error_codes = list(v)
            elif k == "watch_drop_mode":
                if v not in ("close", "end"):
                    raise ValueError("watch_drop_mode must be close or end")
                new.watch_drop_mode = v
            elif k == "watch_410_mode":
                if v not in ("event", "http"):
                    raise ValueError("watch_410_mode must be event or http")
                new.watch_410_mode = v
            elif k == "watch_410_on_resume":
                if not isinstance(v, bool):
                    raise ValueError("watch_410_on_resume must be true or false")
                new.watch_410_on_resume = v
            elif k == "never_ready":
                if v is None:
                    v = False
                if not isinstance(v, (bool, str)):
                    raise ValueError("never_ready must be true, false or a regex string")
                if isinstance(v, str):
                    _compile(v)
                new.never_ready = v
            elif k == "fail_clusters":
                if v in (None, "", False):
                    v = None
                elif v is True:
                    v = ".*"
                elif isinstance(v, str):
                    _compile(v)
                else:
                    raise ValueError("fail_clusters must be a regex string, true or null")
                new.fail_clusters = v
        with self.lock:
            for k in known:
                setattr(self, k, getattr(new, k))
            self._rx_cache = {}

    def _match(self, rx, ns, name):
        r = self._rx_cache.get(rx)
        if r is None:
            r = self._rx_cache[rx] = re.compile(rx)
        return bool(r.search(name) or r.search("%s/%s" % (ns, name)))

    def never_ready_for(self, ns, name):
        nr = self.never_ready
        if nr is True:
            return True
        if isinstance(nr, str) and nr:
            return self._match(nr, ns, name)
        return False

    def fail_for(self, ns, name):
        fc = self.fail_clusters
        return bool(fc) and self._match(fc, ns, name)

    def latency_for(self, verb):
        return self.latency_ms_by_verb.get(verb, 0) + self.latency_ms

    def pick_error(self, verb, resource):
        """Returns an HTTP code to inject for this request, or None."""
        keys = ("%s:%s" % (verb, resource), verb, "*:%s" % resource, "*")
        with self.lock:
            for k in keys:
                n = self.error_next.get(k)
                if n:
                    if n <= 1:
                        del self.error_next[k]
                    else:
                        self.error_next[k] = n - 1
                    return random.choice(self.error_codes)
            for k in keys:
                rate = self.error_rate.get(k)
                if rate is not None:
                    if random.random() < rate:
                        return random.choice(self.error_codes)
                    return None
        return None


def _compile(rx):
    try:
        return re.compile(rx)
    except re.error as e:
        raise ValueError("bad regex %r: %s" % (rx, e))


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.since = now_rfc3339()
            self.total = 0
            self.by_verb = {}
            self.by_resource = {}
            self.by_code = {}
            self.injected = {}

    def count(self, verb, resource, code):
        with self.lock:
            self.total += 1
            self.by_verb[verb] = self.by_verb.get(verb, 0) + 1
            d = self.by_resource.setdefault(resource, {})
            d[verb] = d.get(verb, 0) + 1
            c = str(code)
            self.by_code[c] = self.by_code.get(c, 0) + 1

    def inject(self, what):
        with self.lock:
            self.injected[what] = self.injected.get(what, 0) + 1

    def to_json(self):
        with self.lock:
            return {"since": self.since, "total": self.total, "by_verb": dict(self.by_verb),
                    "by_resource": {k: dict(v) for k, v in self.by_resource.items()},
                    "by_code": dict(self.by_code), "injected": dict(self.injected)}


INJECTED = {500: ("InternalError", 'an error on the server ("kubesim: injected fault") has prevented the request '
                   'from succeeding'),
            503: ("ServiceUnavailable", "the server is currently unable to handle the request (kubesim: injected "
                  "fault)"),
            429: ("TooManyRequests", "the server has received too many requests and has asked us to try again "
                  "later (kubesim: injected fault)")}


def inject_fault(f, stats, verb, resource):
    """Sleeps the configured latency, then raises the injected error this request gets, if any."""
    lat = f.latency_for(verb)
    if lat:
        time.sleep(lat / 1000.0)
    code = f.pick_error(verb, resource)
    if code is None:
        return
    stats.inject("error_%d" % code)
    ra = f.retry_after_seconds
    reason, msg = INJECTED[code]
    raise ApiError(code, reason, msg, {"retryAfterSeconds": int(ra),
                                       "causes": [{"reason": "UnexpectedServerResponse",
                                                   "message": "kubesim: injected fault"}]},
                   headers={"Retry-After": str(int(ra)) if float(ra).is_integer() else str(ra)})
