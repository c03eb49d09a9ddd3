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
    return _SelectorParser(s).parse()


class _SelectorParser:
    """A recursive-descent parser over _lex's tokens, with the API server's grammar:
    [!]key | key (=|==|!=) value | key (<|>) integer | key (in|notin) (v1,v2,...), comma-separated."""

    def __init__(self, s):
        self.s, self.toks, self.pos = s, _lex(s), 0

    def err(self, msg):
        return bad_request("unable to parse requirement: %s (selector %r)" % (msg, self.s))

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def ident(self):
        t = self.peek()
        if isinstance(t, tuple):
            self.pos += 1
            return t[1]
        return None

    def parse(self):
        reqs = []
        while True:
            if self.peek() is None:
                raise self.err("found '', expected: !, identifier")
            reqs.append(self.requirement())
            if self.peek() is None:
                return reqs
            if self.peek() != ",":
                raise self.err("expected ','")
            self.pos += 1

    def requirement(self):
        neg = self.peek() == "!"
        if neg:
            self.pos += 1
        key = self.ident()
        if key is None:
            raise self.err("expected a key")
        if not valid_label_key(key):
            raise self.err("invalid label key %r" % key)
        t = self.peek()
        if neg:
            return Requirement(key, "!", ())
        if t is None or t == ",":
            return Requirement(key, "exists", ())
        if t in ("=", "==", "!="):
            return self.equality(key, t)
        if t in ("<", ">"):
            self.pos += 1
            try:
                iv = int(self.ident())
            except (TypeError, ValueError):
                raise self.err("for 'Gt', 'Lt' operators, the value must be an integer")
            return Requirement(key, "gt" if t == ">" else "lt", (iv,))
        if isinstance(t, tuple) and t[1] in ("in", "notin"):
            self.pos += 1
            return Requirement(key, t[1], frozenset(self.value_set(t[1])))
        raise self.err("unexpected token %r" % (t if isinstance(t, str) else t[1]))

    def equality(self, key, t):
        self.pos += 1
        v = self.ident()
        if v is None:
            if self.peek() is not None and self.peek() != ",":
                raise self.err("expected a value after %s" % t)
            v = ""
        if not valid_label_value(v):
            raise self.err("invalid label value %r" % v)
        return Requirement(key, "!=" if t == "!=" else "=", (v,))

    def value_set(self, op):
        """The (v1,v2,...) after in/notin; an empty set means the one empty value."""
        if self.peek() != "(":
            raise self.err("expected '(' after %s" % op)
        self.pos += 1
        vals = []
        while True:
            if self.peek() == ")":
                self.pos += 1
                return vals or [""]
            v = self.ident()
            if v is None:
                if self.peek() not in (",", ")"):
                    raise self.err("expected a value in set")
                v = ""
            if not valid_label_value(v):
                raise self.err("invalid label value %r" % v)
            vals.append(v)
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == ")":
                self.pos += 1
                return vals
            raise self.err("expected ',' or ')'")


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
