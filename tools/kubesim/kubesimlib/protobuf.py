"""Kubernetes protobuf bodies (application/vnd.kubernetes.protobuf) for the built-in kinds.

A body is the 4-byte magic "k8s\\0" followed by a runtime.Unknown message whose typeMeta names
the apiVersion and kind and whose raw field holds the object's own message. Objects are decoded
into the same JSON dicts that a JSON body gives, and encoded back from them. The field numbers
live in k8s_protobuf_fields.py (generated from the published generated.proto files).

The Go marshaller writes non-pointer scalars even when they are zero, so decoding drops zero
values, empty strings and empty messages, as the JSON encoding's omitempty does.
"""
import base64
import calendar
import json
import struct
import time

from .k8s_protobuf_fields import MESSAGES
from .util import ApiError

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
META = "k8s.io.apimachinery.pkg.apis.meta.v1."
UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
PACKAGES = {"v1": "k8s.io.api.core.v1", "apps/v1": "k8s.io.api.apps.v1",
            "rbac.authorization.k8s.io/v1": "k8s.io.api.rbac.v1", "events.k8s.io/v1": "k8s.io.api.events.v1",
            "authorization.k8s.io/v1": "k8s.io.api.authorization.v1"}
META_KINDS = ("Status", "DeleteOptions")
VARINT_TYPES = ("int32", "int64", "uint32", "uint64", "bool")


def message_for(api_version, kind):
    """The full message name of apiVersion/kind, or None when kubesim has no protobuf for it."""
    name = META + kind if kind in META_KINDS else "%s.%s" % (PACKAGES.get(api_version, "?"), kind)
    return name if name in MESSAGES else None


def _bad(msg):
    return ApiError(400, "BadRequest", "the body of the request could not be decoded as protobuf: %s" % msg)


# ------------------------------------------------------------------ wire format

def _varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise _bad("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf):
    """Yields (field number, wire type, value) of one message; value is int or bytes."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
            if i > len(buf):
                raise _bad("truncated field %d" % num)
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise _bad("unsupported wire type %d" % wt)
        yield num, wt, v


def encode_varint(n):
    """Protobuf base-128 varint; negatives as 64-bit two's complement."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(num, wt):
    return encode_varint((num << 3) | wt)


def _len_field(num, payload):
    return _key(num, 2) + encode_varint(len(payload)) + payload


# ------------------------------------------------------------------ decoding

def _scalar(typ, wt, v):
    if typ == "string":
        return bytes(v).decode("utf-8")
    if typ == "bytes":
        return base64.b64encode(bytes(v)).decode()
    if typ == "bool":
        return bool(v)
    if typ in ("int32", "int64"):
        return v - (1 << 64) if v >= 1 << 63 else v
    if typ == "double":
        return struct.unpack("<d", v)[0]
    if typ == "float":
        return struct.unpack("<f", v)[0]
    return v


def _rfc3339(seconds, nanos, micro):
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return s + (".%06dZ" % (nanos // 1000) if micro else "Z")


def _special(name, d):
    """JSON forms of the apimachinery messages that are not plain objects in JSON."""
    short = name.rsplit(".", 1)[-1]
    if short in ("Time", "MicroTime"):
        return _rfc3339(d.get("seconds", 0), d.get("nanos", 0), short == "MicroTime") if d else None
    if short == "Quantity":
        return d.get("string")
    if short == "IntOrString":
        return d.get("strVal", "") if d.get("type") == 1 else d.get("intVal", 0)
    if short in ("FieldsV1", "RawExtension"):
        raw = d.get("Raw") or d.get("raw")
        return json.loads(base64.b64decode(raw)) if raw else None
    if short == "Duration":
        return "%ds" % (d.get("duration", 0) // 1000000000)
    return d


def _decode_value(typ, wt, v):
    if typ in MESSAGES:
        return _special(typ, decode(typ, bytes(v)))
    if wt == 2 and typ in VARINT_TYPES:      # a packed repeated scalar: several values
        vals, i, buf = [], 0, bytes(v)
        while i < len(buf):
            x, i = _varint(buf, i)
            vals.append(_scalar(typ, 0, x))
        return vals
    return _scalar(typ, wt, v)


def _empty(v):
    return v is None or v == "" or v == 0 and not isinstance(v, bool) or v is False or v == {} or v == []


def decode(name, buf):
    """One message as a JSON dict (zero values dropped)."""
    table = MESSAGES[name]
    out = {}
    for num, wt, v in _fields(buf):
        f = table.get(num)
        if f is None:
            continue               # a field newer than kubesim's table
        jname, card, typ = f
        if card == "map":
            # a map entry is a message {1: key, 2: value}; a missing value is the type's zero
            entry = {n: val for n, _, val in _fields(bytes(v))}
            k = bytes(entry.get(1, b"")).decode("utf-8")
            delimited = typ in ("string", "bytes") or typ in MESSAGES
            out.setdefault(jname, {})[k] = _decode_value(typ, 2 if delimited else 0,
                                                         entry.get(2, b"" if delimited else 0))
            continue
        val = _decode_value(typ, wt, v)
        if card == "repeated":
            lst = out.setdefault(jname, [])
            lst.extend(val) if isinstance(val, list) and typ in VARINT_TYPES else lst.append(val)
        elif not _empty(val):
            out[jname] = val
    return out


def decode_body(raw):
    """(apiVersion, kind, object dict) of an enveloped body. Raises 400 or 415."""
    if not raw.startswith(MAGIC):
        raise _bad("the body does not start with the k8s protobuf magic")
    env = decode(UNKNOWN, raw[len(MAGIC):])
    tm = env.get("typeMeta") or {}
    av, kind = tm.get("apiVersion", ""), tm.get("kind", "")
    name = message_for(av, kind)
    if name is None:
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                       "accepted media types include: application/json, application/yaml (protobuf: no "
                       "message for %s %s)" % (av, kind))
    obj = decode(name, base64.b64decode(env.get("raw", "")))
    obj["apiVersion"], obj["kind"] = av, kind
    return obj


# ------------------------------------------------------------------ encoding

def _enc_scalar(num, typ, v):
    if typ == "string":
        return _len_field(num, str(v).encode("utf-8"))
    if typ == "bytes":
        return _len_field(num, base64.b64decode(v))
    if typ == "double":
        return _key(num, 1) + struct.pack("<d", float(v))
    if typ == "float":
        return _key(num, 5) + struct.pack("<f", float(v))
    return _key(num, 0) + encode_varint(int(v))


def _parse_time(s):
    main, _, frac = s.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(main[:19], "%Y-%m-%dT%H:%M:%S"))
    return {"seconds": secs, "nanos": int((frac or "0").ljust(9, "0")[:9])}


def _unspecial(name, v):
    short = name.rsplit(".", 1)[-1]
    if short in ("Time", "MicroTime"):
        return _parse_time(v)
    if short == "Quantity":
        return {"string": str(v)}
    if short == "IntOrString":
        return {"type": 1, "strVal": v} if isinstance(v, str) else {"type": 0, "intVal": v}
    if short == "FieldsV1":
        return {"Raw": base64.b64encode(json.dumps(v).encode()).decode()}
    if short == "RawExtension":
        return {"raw": base64.b64encode(json.dumps(v).encode()).decode()}
    if short == "Duration":
        return {"duration": int(float(str(v).rstrip("s") or 0) * 1000000000)}
    return v


def _enc_value(num, typ, v):
    if typ in MESSAGES:
        return _len_field(num, encode(typ, _unspecial(typ, v)))
    return _enc_scalar(num, typ, v)


def encode(name, obj):
    """A JSON dict as the bytes of message name (fields the table lacks are left out)."""
    out = []
    for num, (jname, card, typ) in sorted(MESSAGES[name].items()):
        v = obj.get(jname) if isinstance(obj, dict) else None
        if v is None:
            continue
        if card == "map":
            for k, val in v.items():
                out.append(_len_field(num, _len_field(1, k.encode()) + _enc_value(2, typ, val)))
        elif card == "repeated":
            out.extend(_enc_value(num, typ, item) for item in v)
        else:
            out.append(_enc_value(num, typ, v))
    return b"".join(out)


def encode_body(obj):
    """An enveloped protobuf body for a JSON object of a built-in kind, or None for other kinds."""
    av, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    name = message_for(av, kind)
    if name is None:
        return None
    env = {"typeMeta": {"apiVersion": av, "kind": kind},
           "raw": base64.b64encode(encode(name, obj)).decode(), "contentType": ""}
    return MAGIC + encode(UNKNOWN, env)
