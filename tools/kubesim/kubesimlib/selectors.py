"""Label selectors (equality- and set-based) and field selectors, as the API server parses them."""
import re

from .util import bad_request

_NAME_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DNS_SUB_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SPECIAL = set(" \t,()=!<>")


def valid_label_key(k):
    if "/" in k:
        prefix, _, name = k.partition("/")
        if not prefix or len(prefix) > 253 or not _DNS_SUB_RE.match(prefix):
            return False
    else:
        name = k
    return 0 < len(name) <= 63 and bool(_NAME_RE.match(name))


def valid_label_value(v):
    return len(v) <= 63 and bool(_NAME_RE.match(v))


def _lex(s):
    toks = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in " \t":
            i += 1
            continue
        if c in ",()":
            toks.append(c)
            i += 1
            continue
        if c == "!":
            if i + 1 < n and s[i + 1] == "=":
                toks.append("!=")
                i += 2
            else:
                toks.append("!")
                i += 1
            continue
        if c == "=":
            if i + 1 < n and s[i + 1] == "=":
                toks.append("==")
                i += 2
            else:
                toks.append("=")
                i += 1
            continue
        if c in "<>":
            toks.append(c)
            i += 1
            continue
        j = i
        while j < n and s[j] not in _SPECIAL:
            j += 1
        toks.append(("id", s[i:j]))
        i = j
    return toks


class Requirement:
    __slots__ = ("key", "op", "values")

    def __init__(self, key, op, values):
        self.key, self.op, self.values = key, op, values

    def matches(self, labels):
        op = self.op
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        v = labels.get(self.key)
        if op == "=":
            return v is not None and v == self.values[0]
        if op == "!=":
            return v is None or v != self.values[0]
        if op == "in":
            return v is not None and v in self.values
        if op == "notin":
            return v is None or v not in self.values
        if op in ("gt", "lt"):
            try:
                iv = int(v)
            except (TypeError, ValueError):
                return False
            return iv > self.values[0] if op == "gt" else iv < self.values[0]
        return False


def parse_label_selector(s):
    """Returns a list of Requirements (empty = everything). Raises ApiError 400 on syntax errors."""
    if s is None or s.strip() == "":
        return []
    toks = _lex(s)
    reqs = []
    pos = 0

    def err(msg):
        return bad_request("unable to parse requirement: %s (selector %r)" % (msg, s))

    def ident():
        nonlocal pos
        if pos < len(toks) and isinstance(toks[pos], tuple):
            pos += 1
            return toks[pos - 1][1]
        return None

    while True:
        if pos >= len(toks):
            raise err("found '', expected: !, identifier")
        neg = False
        if toks[pos] == "!":
            neg = True
            pos += 1
        key = ident()
        if key is None:
            raise err("expected a key")
        if not valid_label_key(key):
            raise err("invalid label key %r" % key)
        if neg:
            reqs.append(Requirement(key, "!", ()))
        elif pos >= len(toks) or toks[pos] == ",":
            reqs.append(Requirement(key, "exists", ()))
        else:
            t = toks[pos]
            if t in ("=", "==", "!="):
                pos += 1
                v = ident()
                if v is None:
                    if pos >= len(toks) or toks[pos] == ",":
                        v = ""
                    else:
                        raise err("expected a value after %s" % t)
                if not valid_label_value(v):
                    raise err("invalid label value %r" % v)
                reqs.append(Requirement(key, "!=" if t == "!=" else "=", (v,)))
            elif t in ("<", ">"):
                pos += 1
                v = ident()
                try:
                    iv = int(v)
                except (TypeError, ValueError):
                    raise err("for 'Gt', 'Lt' operators, the value must be an integer")
                reqs.append(Requirement(key, "gt" if t == ">" else "lt", (iv,)))
            elif isinstance(t, tuple) and t[1] in ("in", "notin"):
                op = t[1]
                pos += 1
                if pos >= len(toks) or toks[pos] != "(":
                    raise err("expected '(' after %s" % op)
                pos += 1
                vals = []
                while True:
                    if pos < len(toks) and toks[pos] == ")":
                        if not vals:
                            vals.append("")
                        pos += 1
                        break
                    v = ident()
                    if v is None:
                        if pos < len(toks) and toks[pos] in (",", ")"):
                            v = ""
                        else:
                            raise err("expected a value in set")
                    if not valid_label_value(v):
                        raise err("invalid label value %r" % v)
                    vals.append(v)
                    if pos < len(toks) and toks[pos] == ",":
                        pos += 1
                        continue
                    if pos < len(toks) and toks[pos] == ")":
                        pos += 1
                        break
                    raise err("expected ',' or ')'")
                reqs.append(Requirement(key, op, frozenset(vals)))
            else:
                raise err("unexpected token %r" % (t if isinstance(t, str) else t[1]))
        if pos >= len(toks):
            break
        if toks[pos] != ",":
            raise err("expected ','")
        pos += 1
    return reqs


def labels_match(reqs, labels):
    for r in reqs:
        if not r.matches(labels):
            return False
    return True


_FIELD_SUPPORTED_ALL = ("metadata.name", "metadata.namespace")


def parse_field_selector(s, res):
    """Returns a list of (path, op, value) with op '=' or '!='."""
    if s is None or s.strip() == "":
        return []
    out = []
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part:
            k, v = part.split("!=", 1)
            op = "!="
        elif "==" in part:
            k, v = part.split("==", 1)
            op = "="
        elif "=" in part:
            k, v = part.split("=", 1)
            op = "="
        else:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (s, part))
        k = k.strip()
        if k not in _FIELD_SUPPORTED_ALL and k not in res.extra_fields:
            raise bad_request('field label not supported: %s' % k)
        out.append((k, op, v.strip()))
    return out


def _field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
        if cur is None:
            return ""
    return cur if isinstance(cur, str) else str(cur)


def fields_match(fsel, obj):
    for path, op, v in fsel:
        actual = _field_value(obj, path)
        if (actual == v) != (op == "="):
            return False
    return True
