"""HTTP(S) front end: routing, authentication, content negotiation, watch streams, admin endpoint."""
import hmac
import json
import select
import socket
import ssl
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import authz, events, flowcontrol, openapi
from . import resources as R
from . import protobuf
from .util import ApiError, dumps, query_bool
from .watch import TABLE_CT, WatchStream

MAX_BODY = 3 * 1024 * 1024
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


def _route_not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


class Route:
    __slots__ = ("res", "ns", "name", "sub", "watch_path")

    def __init__(self, res, ns, name, sub, watch_path):
        self.res, self.ns, self.name, self.sub, self.watch_path = res, ns, name, sub, watch_path


def parse_resource_path(segs):
    """segs: path segments starting with api|apis. Returns Route or None for non-resource paths."""
    if segs[0] == "api":
        if len(segs) < 3:
            return None
        group, version, rest = "", segs[1], segs[2:]
    else:
        if len(segs) < 4:
            return None
        group, version, rest = segs[1], segs[2], segs[3:]
    watch_path = False
    if rest and rest[0] == "watch":
        watch_path = True
        rest = rest[1:]
    if not rest:
        raise _route_not_found()
    ns = name = sub = None
    if rest[0] == "namespaces" and group == "":
        if len(rest) == 1:
            return Route(R.NAMESPACES, None, None, None, watch_path)
        if len(rest) == 2:
            return Route(R.NAMESPACES, None, rest[1], None, watch_path)
        if len(rest) == 3 and rest[2] in ("status", "finalize"):
            return Route(R.NAMESPACES, None, rest[1], "status", watch_path)
    if rest[0] == "namespaces":
        if len(rest) < 3 or len(rest) > 5:
            raise _route_not_found()
        ns, plural = rest[1], rest[2]
        name = rest[3] if len(rest) > 3 else None
        sub = rest[4] if len(rest) > 4 else None
    else:
        if len(rest) > 3:
            raise _route_not_found()
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
    res = R.lookup(group, version, plural)
    if res is None:
        raise _route_not_found()
    if res.namespaced and ns is None and name is not None:
        raise _route_not_found()
    if not res.namespaced and ns is not None:
        raise _route_not_found()
    if sub is not None and sub not in res.subresources:
        raise _route_not_found()
    return Route(res, ns, name, sub, watch_path)


class KubeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, addr, app):
        self.app = app
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, Handler)

    def handle_error(self, request, client_address):
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout, ssl.SSLError, OSError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubesim"
    sys_version = ""
    timeout = 300

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(30)
            self.connection.do_handshake()
            self.connection.settimeout(self.timeout)

    def log_message(self, fmt, *args):
        pass

    # ------------------------------------------------------------------ plumbing
    def _send(self, code, body, ctype="application/json", headers=None):
        if self._negotiate and ctype == "application/json" and self._protobuf_only():
            code, body, ctype = self._as_protobuf(code, body)
        if isinstance(body, (dict, list)):
            body = dumps(body)
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self._send_flow_control_headers()
        if self._warnings:
            for w in self._warnings:
                self.send_header("Warning", '299 - "%s"' % w.replace('"', '\\"'))
        # Headers and body in one write: two small writes hit Nagle + delayed ACK (40 ms stalls).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()
        self._code = code

    def _send_flow_control_headers(self):
        """The API Priority and Fairness headers: a real server names, by UID, the FlowSchema and
        the priority level that admitted each request it classified (every request past
        authentication). Clients detect APF by them (client-go prints the FlowSchema UID when it
        retries a 429); 401s and kubesim's own /kubesim endpoints carry none, as on a real server."""
        if self._flow is None:
            return
        uids = self.server.app.flow_control.uids(self._flow)
        self.send_header(flowcontrol.FLOW_SCHEMA_HEADER, uids[0])
        self.send_header(flowcontrol.PRIORITY_LEVEL_HEADER, uids[1])

    def _protobuf_only(self):
        """A real server answers in the first acceptable type; kubesim answers JSON whenever the
        client takes it (kubectl and client-go list JSON second) and protobuf only when nothing else."""
        types = [p.split(";")[0].strip().lower() for p in (self.headers.get("Accept") or "").split(",")]
        return protobuf.CONTENT_TYPE in types and not any(
            t in ("application/json", "application/*", "*/*", "application/yaml") for t in types)

    def _as_protobuf(self, code, body):
        obj = json.loads(body) if isinstance(body, (bytes, str)) else body
        enc = protobuf.encode_body(obj) if isinstance(obj, dict) else None
        if enc is None:    # custom resources and kubesim's own documents have no protobuf form
            return 406, dumps(ApiError(406, "NotAcceptable", "only the following media types are accepted: "
                                       "application/json, application/yaml").status()), "application/json"
        return code, enc, protobuf.CONTENT_TYPE

    def _send_error(self, e):
        self._send(e.code, e.status(), headers=e.headers)

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ApiError(413, "RequestEntityTooLarge", "the request body is too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "the request body is too large")
        return self.rfile.read(n) if n > 0 else b""

    def _json_body(self, raw, res=None):
        """The request body as JSON data. Protobuf is accepted for the built-in kinds only, as on a
        real server, where custom resources have no protobuf encoding."""
        if not raw:
            return None
        ct = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if ct == protobuf.CONTENT_TYPE and (res is None or not res.crd):
            return protobuf.decode_body(raw)
        if ct not in ("application/json", "application/yaml", "application/apply-patch+yaml", "text/plain",
                      "application/x-www-form-urlencoded", ""):
            raise ApiError(415, "UnsupportedMediaType", 'the body of the request was in an unknown format - '
                           'accepted media types include: application/json, application/yaml')
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError(400, "BadRequest", "the body of the request could not be decoded as JSON: %s" % e)

    def _authenticated(self):
        app = self.server.app
        if not app.tls:
            tok = self._bearer()
            return tok is None or hmac.compare_digest(tok, app.token)
        tok = self._bearer()
        if tok is not None and hmac.compare_digest(tok, app.token):
            return True
        if tok is not None:
            return False
        try:
            cert = self.connection.getpeercert()
        except (ValueError, AttributeError):
            cert = None
        return bool(cert)

    def _bearer(self):
        h = self.headers.get("Authorization")
        if not h:
            return None
        parts = h.split(None, 1)
        if len(parts) == 2 and parts[0].lower() == "bearer":
            return parts[1].strip()
        return ""

    def _wants_table(self):
        acc = self.headers.get("Accept") or ""
        return "as=Table" in acc and "g=meta.k8s.io" in acc

    # ------------------------------------------------------------------ verbs
    def do_GET(self):
        self._handle()

    def do_HEAD(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def do_PATCH(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def _handle(self):
        app = self.server.app
        self._warnings = []
        self._negotiate = False
        self._code = 0
        self._counted = False
        self._flow = None
        t0 = time.monotonic()
        u = urllib.parse.urlsplit(self.path)
        path = u.path
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        verb, resname = "get", "other"
        try:
            # Read the body first: a response sent with an unread body would corrupt the keep-alive stream.
            self._raw = self._read_body()
        except ApiError as e:
            self.close_connection = True
            return self._send_error(e)
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            if path.startswith("/kubesim/") or path == "/kubesim":
                if not self._authenticated():
                    raise ApiError(401, "Unauthorized", "Unauthorized")
                verb, resname = None, None
                return app.admin.handle(self, path, params)
            if path.rstrip("/") in PUBLIC_PATHS or path.startswith("/healthz/") or path.startswith("/livez/") \
                    or path.startswith("/readyz/"):
                verb, resname = "get", path.strip("/").split("/")[0]
                self._flow = flowcontrol.classify_public(path)
                if path.rstrip("/") == "/version":
                    return self._send(200, app.version_doc())
                return self._send(200, "ok", "text/plain; charset=utf-8")
            if not self._authenticated():
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self._flow = flowcontrol.LOCAL_USER_FLOW
            segs = [urllib.parse.unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []
            if not segs or segs[0] not in ("api", "apis", "openapi", "swagger-2.0.0.pb-v1"):
                raise _route_not_found()
            if segs[0] in ("openapi", "swagger-2.0.0.pb-v1"):
                resname = "openapi"
                return self._openapi(segs)
            route = parse_resource_path(segs)
            if route is None:
                resname = "discovery"
                return self._discovery(segs)
            resname = route.res.plural + ("/" + route.sub if route.sub else "")
            verb = self._verb(route, params)
            self._stat_key = (verb, resname)
            app.before_request(self, verb, route.res.plural)
            self._negotiate = verb != "watch"
            return self._resource(route, verb, params)
        except ApiError as e:
            if self._code == 0:
                self._send_error(e)
        except (ConnectionError, socket.timeout, ssl.SSLError, BrokenPipeError):
            self.close_connection = True
        except Exception as e:
            import traceback
            app.log("kubesim: internal error on %s %s: %s" % (self.command, self.path, traceback.format_exc()))
            if self._code == 0:
                self._send_error(ApiError(500, "InternalError", "Internal error occurred: %s" % e))
        finally:
            if verb is not None and resname is not None and not self._counted:
                app.stats.count(verb, resname, self._code)
                app.access(self, self._code, time.monotonic() - t0)

    def _verb(self, route, params):
        m = self.command
        if m in ("GET", "HEAD"):
            if route.watch_path or query_bool(params, "watch"):
                return "watch"
            return "list" if route.name is None else "get"
        if route.res.namespaced and route.ns is None and m in ("POST", "DELETE"):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                           "resource (use the namespaced path)")
        if m == "POST":
            if route.name is not None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return "create"
        if m == "PUT":
            if route.name is None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return "update"
        if m == "PATCH":
            if route.name is None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return "patch"
        if m == "DELETE":
            return "delete" if route.name is not None else "deletecollection"
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    # ------------------------------------------------------------------ discovery and openapi
    def _discovery(self, segs):
        app = self.server.app
        acc = self.headers.get("Accept") or ""
        if self.command not in ("GET", "HEAD"):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        agg = None
        if "g=apidiscovery.k8s.io" in acc and "as=APIGroupDiscoveryList" in acc:
            for part in acc.split(","):
                if "g=apidiscovery.k8s.io" in part and "as=APIGroupDiscoveryList" in part:
                    if "v=v2beta1" in part:
                        agg = "v2beta1"
                    elif "v=v2" in part:
                        agg = "v2"
                    if agg:
                        break
        if segs == ["api"] or segs == ["apis"]:
            if agg:
                return self._send(200, R.aggregated(segs == ["api"], agg),
                                  "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList" % agg)
            if segs == ["api"]:
                return self._send(200, R.api_versions(app.server_address))
            return self._send(200, R.api_group_list())
        if segs[0] == "api" and len(segs) == 2 and segs[1] == "v1":
            return self._send(200, R.resource_list("", "v1"))
        if segs[0] == "apis" and len(segs) == 2 and any(g == segs[1] for g, _ in R.GROUPS if g):
            return self._send(200, R.api_group(segs[1]))
        if segs[0] == "apis" and len(segs) == 3 and (segs[1], segs[2]) in R.GROUPS:
            return self._send(200, R.resource_list(segs[1], segs[2]))
        raise _route_not_found()

    def _openapi(self, segs):
        acc = self.headers.get("Accept") or ""
        if segs == ["openapi", "v2"] or segs == ["swagger-2.0.0.pb-v1"]:
            if "protobuf" in acc or segs[0] == "swagger-2.0.0.pb-v1":
                return self._send(200, self.server.app.openapi_v2_pb,
                                  "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            return self._send(200, openapi.v2_json())
        root, docs = openapi.v3_docs()
        if segs == ["openapi", "v3"]:
            return self._send(200, root)
        key = "/".join(segs[2:])
        if key in docs:
            return self._send(200, docs[key][0], headers={"Etag": '"%s"' % docs[key][1]})
        raise _route_not_found()

    # ------------------------------------------------------------------ resources
    def _resource(self, route, verb, params):
        res = route.res
        if verb not in res.verbs:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if res is R.SELF_SUBJECT_ACCESS_REVIEWS:
            if verb != "create":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return self._send(201, authz.self_subject_access_review(self._json_body(self._raw, res)))
        if res is R.EVENTS_V1:
            if params.get("fieldSelector"):
                params["fieldSelector"] = events.core_field_selector(params["fieldSelector"])
            # the stored core Events, converted on the way out (and on create, on the way in)
            return self._serve(route, R.EVENTS, verb, params, events.to_v1, events.to_core)
        return self._serve(route, res, verb, params)

    def _serve(self, route, res, verb, params, out=None, into=None):
        """One API request on the stored resource res. out/into convert the stored objects of a view
        (route.res) to the served form and a body back."""
        app = self.server.app
        api = app.api
        ua = self.headers.get("User-Agent", "")
        raw_of = (lambda r: r.raw()) if out is None else (lambda r: dumps(out(r.obj)))
        if verb == "watch":
            if route.name is not None:
                fs = params.get("fieldSelector")
                params["fieldSelector"] = "metadata.name=%s" % route.name + ("," + fs if fs else "")
            return WatchStream(app, self, route, params, res, raw_of).serve()
        if verb == "list":
            recs, rv, cont, remaining = api.list(res, route.ns, params)
            if self._wants_table():
                return self._send(200, R.table(res, [r.obj for r in recs], str(rv),
                                               params.get("includeObject", "Metadata"), cont=cont), TABLE_CT)
            md = {"resourceVersion": str(rv)}
            if cont:
                md["continue"] = cont
                if remaining is not None:
                    md["remainingItemCount"] = remaining
            head = dumps({"kind": route.res.list_kind, "apiVersion": route.res.api_version, "metadata": md})
            body = head[:-1] + b',"items":[' + b",".join(raw_of(r) for r in recs) + b"]}"
            return self._send(200, body)
        if verb == "get":
            rec = api.get(res, route.ns, route.name)
            if route.sub == "scale":
                return self._send(200, api.scale(rec))
            if self._wants_table():
                return self._send(200, R.table(res, [rec.obj], rec.md["resourceVersion"],
                                               params.get("includeObject", "Metadata")), TABLE_CT)
            return self._send(200, raw_of(rec))
        raw = self._raw
        if verb == "create":
            if route.sub:
                raise _route_not_found()
            ns = route.ns if res.namespaced else None
            body = self._json_body(raw, res)
            rec = api.create(res, ns, into(body) if into and isinstance(body, dict) else body, params, ua,
                             self._warnings)
            return self._send(201, raw_of(rec))
        if verb == "update":
            rec = api.update(res, route.ns, route.name, route.sub, self._json_body(raw, res), params, ua, self._warnings)
            if route.sub == "scale":
                return self._send(200, api.scale(rec))
            return self._send(200, rec.raw())
        if verb == "patch":
            rec, created = api.patch(res, route.ns, route.name, route.sub, self.headers.get("Content-Type"), raw,
                                     params, ua, self._warnings)
            if route.sub == "scale":
                return self._send(200, api.scale(rec))
            return self._send(201 if created else 200, rec.raw())
        if verb == "delete":
            opts = self._json_body(raw, res) if raw else {}
            rec, gone = api.delete(res, route.ns, route.name, opts, params)
            if gone and res.delete_status:
                details = {"name": route.name, "kind": res.plural, "uid": rec.md.get("uid")}
                if res.group:
                    details["group"] = res.group
                return self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                        "details": details})
            return self._send(200 if gone or res is R.NAMESPACES else 202, raw_of(rec))
        if verb == "deletecollection":
            opts = self._json_body(raw, res) if raw else {}
            recs = api.delete_collection(res, route.ns, params, opts)
            return self._send(200, {"kind": res.list_kind, "apiVersion": res.api_version,
                                    "metadata": {"resourceVersion": str(app.store.current_rv())},
                                    "items": [r.obj for r in recs]})
        raise _route_not_found()

    # ------------------------------------------------------------------ watch streaming
    def start_chunked(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self._send_flow_control_headers()
        self.end_headers()
        self._code = 200
        # a watch is counted when its stream starts, not when it ends
        self.server.app.stats.count(self._stat_key[0], self._stat_key[1], 200)
        self._counted = True

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")

    def client_gone(self):
        """True when the peer closed the connection (checked while a watch is idle)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
        except (ValueError, OSError):
            return True
        if not r:
            return False
        try:
            data = self.connection.recv(1)
        except ssl.SSLWantReadError:
            return False
        except (OSError, ValueError):
            return True
        if not data:
            return True
        self.close_connection = True
        return False

    def abort(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
