"""daap: PostgreSQL databases on demand (CNPG + PgBouncer), from Python.

A thin, Pythonic layer over libdaap through ctypes. All logic (validation,
naming, state transitions, the HTTP client for remote contexts) lives in the
C library; this package converts arguments, copies results into frozen
dataclasses and maps error codes to exceptions.

Three lines against a running daap-server::

    import daap
    c = daap.Client(server="http://127.0.0.1:8080", team="payments")
    db = c.wait_ready(c.create("orders", "payments", "order history").id)
    print(db.connection.uri)

Or directly on a store and a Kubernetes cluster (operators, tests)::

    c = daap.Client(store="sqlite:///var/lib/daap/daap.db", kubeconfig="~/.kube/config",
                    secret_key_file="/etc/daap/key")

A Client wraps one libdaap context. It may be shared between threads: calls
are serialised by a lock, as libdaap requires one thread at a time per context.
"""

import ctypes
import datetime as _dt
import enum
import os
import threading
import time
from ctypes import byref, c_int, c_void_p
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional, Tuple, Union

from . import _native as N
from .errors import (AlreadyExists, BackendAuth, Conflict, Crypto, DeletionProtected, Error, Expired, FieldError,
                     Forbidden, InvalidArgument, NotFound, NotSupported, ProvisioningFailed,
                     Timeout, Unavailable)

__version__ = "0.1.0"

__all__ = [
    "Client", "Database", "Connection", "Event", "Status", "ReconcileResult", "Migration",
    "MigrationStatus", "FakeKube", "library_version", "features",
    "Error", "NotFound", "AlreadyExists", "InvalidArgument", "FieldError", "Conflict",
    "Unavailable", "Timeout", "BackendAuth", "NotSupported", "Forbidden", "Expired", "Crypto",
    "ProvisioningFailed", "DeletionProtected",
]


def library_version() -> str:
    """The version of the libdaap that is loaded, e.g. "0.1.0"."""
    return N.text(N.daap_version_string())


def features() -> frozenset:
    """The optional parts this libdaap has: "sqlite", "postgres", "kube_rest", "remote"."""
    bits = N.daap_features()
    names = {N.FEATURE_SQLITE: "sqlite", N.FEATURE_POSTGRES: "postgres",
             N.FEATURE_KUBE_REST: "kube_rest", N.FEATURE_REMOTE: "remote"}
    return frozenset(name for bit, name in names.items() if bits & bit)


# ------------------------------------------------------------------ records


class Status(str, enum.Enum):
    """The five states of a database. Compares equal to its name: ``db.status == "ready"``."""

    PROVISIONING = "provisioning"
    READY = "ready"
    ERROR = "error"
    DELETING = "deleting"
    DELETED = "deleted"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Connection:
    """How to reach a ready database through PgBouncer (and directly).

    The password and the URI are left out of repr() so records can be logged.
    """

    host: str
    port: int
    dbname: str
    user: str
    password: str = field(repr=False)
    uri: Optional[str] = field(repr=False)  #: postgresql://user:password@host:port/dbname
    direct_host: Optional[str] = None       #: <cluster>-rw, for sessions that need session state
    direct_port: Optional[int] = None


@dataclass(frozen=True)
class Database:
    """One database record, as libdaap returned it (a snapshot)."""

    id: str
    name: str
    owner_team: str
    purpose: str
    namespace: str
    cluster_name: str
    pooler_name: str
    instances: int
    storage_size: str
    pg_version: int
    status: Status
    status_reason: Optional[str]
    revision: int
    created_at: Optional[_dt.datetime]
    updated_at: Optional[_dt.datetime]
    ready_at: Optional[_dt.datetime]
    deleted_at: Optional[_dt.datetime]
    #: Only for ready records fetched with get() or wait_ready().
    connection: Optional[Connection] = None
    #: While True, delete() raises DeletionProtected; unprotect() turns it off.
    deletion_protection: bool = False
    #: The Client that fetched it, for wait() and events(); not part of the value.
    _client: Optional["Client"] = field(default=None, compare=False, repr=False)

    def wait(self, timeout: float = 30.0) -> "Database":
        """Wait until this record changes (its revision moves) and return the
        new record; see Client.wait(). Raises Timeout (unchanged after
        `timeout` seconds), NotFound (deleted), Error when it was not
        fetched through a Client."""
        if self._client is None:
            raise Error("this Database was not fetched through a Client", code=N.errors.EINVALID)
        return self._client.wait(self.id, self.revision, timeout)

    def events(self, type: Optional[str] = None, limit: Optional[int] = None) -> Iterator["Event"]:
        """The database's event history, newest first (see Client.events)."""
        if self._client is None:
            raise Error("this Database was not returned by a Client")
        return self._client.events(self.id, type=type, limit=limit)


    def _owner_client(self) -> "Client":
        if self._client is None:
            raise Error("this Database was not fetched through a Client", code=N.errors.EINVALID)
        return self._client

    def protect(self, *, team: Optional[str] = None) -> "Database":
        """Turn deletion protection on (see Client.protect) and return the new record."""
        return self._owner_client().protect(self.id, team=team)

    def unprotect(self, *, team: Optional[str] = None) -> "Database":
        """Turn deletion protection off (see Client.unprotect) and return the new record."""
        return self._owner_client().unprotect(self.id, team=team)

    def resize(self, *, storage_size: Optional[str] = None, instances: Optional[int] = None,
               team: Optional[str] = None) -> "Database":
        """Grow storage and/or change instances (see Client.resize)."""
        return self._owner_client().resize(self.id, team=team, storage_size=storage_size, instances=instances)

    def rotate_password(self, *, team: Optional[str] = None) -> "Database":
        """Start a password rotation (see Client.rotate_password)."""
        return self._owner_client().rotate_password(self.id, team=team)


@dataclass(frozen=True)
class Event:
    """One event of a database's history (DESIGN.md section 11). A repeat of
    the same type, reason and message is one Event with a count."""

    id: int
    database_id: str
    at: _dt.datetime          #: when it first happened
    last_at: _dt.datetime     #: when it last happened
    type: str                 #: "normal" or "warning"
    reason: str               #: Created, Progress, Ready, Failed, OwnerChanged, Deleted, ...
    message: str
    from_status: Optional[Status]
    to_status: Optional[Status]
    actor: str                #: the caller's team, or "reconciler"
    request_id: Optional[str]
    count: int


@dataclass(frozen=True)
class ReconcileResult:
    """What one reconcile pass did (daap_reconcile_result)."""

    examined: int
    transitions: int
    objects_created: int
    objects_deleted: int
    orphans_removed: int
    conflicts: int
    failures: int
    pending: int


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    applied: bool
    applied_at: Optional[_dt.datetime]
    checksum_ok: bool


@dataclass(frozen=True)
class MigrationStatus:
    current: int   #: highest applied version (0: none)
    latest: int    #: highest version this libdaap knows
    migrations: Tuple[Migration, ...]


def _time(ms: int) -> Optional[_dt.datetime]:
    return _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.timezone.utc) if ms else None


def _paged(page_of, limit):
    """Yield the items of page_of(cursor) -> (items, next_cursor), page after page, until the
    last page or `limit` items (None: no limit)."""
    cursor, yielded = None, 0
    while True:
        items, cursor = page_of(cursor)
        for item in items:
            yield item
            yielded += 1
            if limit is not None and yielded >= limit:
                return
        if cursor is None:
            return


def _event(e) -> Event:
    """Copy one daap_db_event (strings borrowed from its page)."""
    def status(v):
        return Status(N.text(v)) if v else None
    return Event(id=int(e.id), database_id=N.text(e.database_id), at=_time(e.at), last_at=_time(e.last_at),
                 type=N.text(N.daap_db_event_type_name(e.type)), reason=N.text(e.reason),
                 message=N.text(e.message) or "", from_status=status(e.from_status),
                 to_status=status(e.to_status), actor=N.text(e.actor), request_id=N.text(e.request_id),
                 count=int(e.count))


def _database(p, client=None) -> Database:
    """Copy every field of a daap_db * (borrowed strings included) into a Database."""
    g = {name: N.text(fn(p)) for name, fn in N.db_get.items()
         if name in N.DB_TEXT_GETTERS}
    g.update({name: int(N.db_get[name](p)) for name in N.DB_INT32_GETTERS + N.DB_INT64_GETTERS})
    status = Status(N.text(N.daap_db_status_name(N.db_get["status"](p))))
    conn = None
    if status is Status.READY and g["password"] is not None:
        buf = N.daap_buf()
        if N.daap_db_uri(byref(buf), p) == 0:
            uri = N.buf_text(buf)
        else:
            uri = None
            N.daap_error_clear()
        conn = Connection(host=g["host"], port=g["port"], dbname=g["dbname"], user=g["username"],
                          password=g["password"], uri=uri, direct_host=g["direct_host"],
                          direct_port=g["direct_port"] or None)
    return Database(id=g["id"], name=g["name"], owner_team=g["owner_team"], purpose=g["purpose"],
                    namespace=g["namespace"], cluster_name=g["cluster_name"],
                    pooler_name=g["pooler_name"], instances=g["instances"],
                    storage_size=g["storage_size"], pg_version=g["pg_version"], status=status,
                    status_reason=g["status_reason"], revision=g["revision"],
                    created_at=_time(g["created_at"]), updated_at=_time(g["updated_at"]),
                    ready_at=_time(g["ready_at"]), deleted_at=_time(g["deleted_at"]),
                    connection=conn, _client=client,
                    deletion_protection=bool(N.db_get["deletion_protection"](p)))


# ------------------------------------------------------------ fake cluster


class FakeKube:
    """libdaap's in-memory Kubernetes with a simulated CNPG operator
    (daap_kube_fake_new), for tests and demos without a cluster.

    Created Clusters stay in "Setting up primary" until make_ready() (or at
    once with auto_ready=True). Give it to one Client: ``Client(store=...,
    kube=FakeKube())``, or pass ``kubeconfig="fake"`` and use
    ``client.fake_kube``. The Client owns it from then on; it is usable while
    that Client is open.
    """

    METHODS = {"create": N.FAKE_CREATE, "get": N.FAKE_GET, "remove": N.FAKE_REMOVE,
               "list": N.FAKE_LIST, "watch": N.FAKE_WATCH, "patch": N.FAKE_PATCH}

    def __init__(self, auto_ready: bool = False):
        handle = c_void_p()
        rc = N.daap_kube_fake_new(byref(handle))
        if rc < 0:
            raise N.last_error(rc)
        self._handle = handle
        self._client = None
        if auto_ready:
            self.set_auto_ready(True)

    def _live(self):
        if self._handle is None:
            raise Error("this FakeKube's client is closed")
        return self._handle

    def _call(self, fn, *args):
        lock = self._client._lock if self._client is not None else threading.RLock()
        with lock:
            rc = fn(self._live(), *args)
            if rc < 0:
                raise N.last_error(rc)
            return rc

    def set_auto_ready(self, on: bool = True) -> None:
        """Make every Cluster Ready as soon as it is created."""
        self._call(N.daap_kube_fake_set_auto_ready, 1 if on else 0)

    def set_cluster_phase(self, cluster_name: str, phase: Optional[str] = None,
                          namespace: str = "daap") -> None:
        """Make a Cluster (and its pooler) Ready, or put it in a failure `phase`."""
        self._call(N.daap_kube_fake_set_cluster_phase, N.cstr(namespace, "namespace"),
                   N.cstr(cluster_name, "cluster_name"), N.cstr(phase, "phase"))

    def make_ready(self, db: Database) -> None:
        """Make the Cluster and Pooler of a database record Ready."""
        self.set_cluster_phase(db.cluster_name, None, db.namespace)

    def fail(self, method: str, code: int, nth: int = 1) -> None:
        """Make call number `nth` (from now) of `method` fail with a negative
        daap error code (e.g. daap.errors.EUNAVAILABLE); nth=0: every call
        until cleared with code 0."""
        self._call(N.daap_kube_fake_fail, self.METHODS[method], nth, code)

    def calls(self, method: str) -> int:
        """How many times `method` ("create", "get", ...) was called."""
        with (self._client._lock if self._client is not None else threading.RLock()):
            return int(N.daap_kube_fake_calls(self._live(), self.METHODS[method]))

    def __del__(self):
        # Only a backend no context took over is ours to free.
        if getattr(self, "_client", None) is None and getattr(self, "_handle", None) is not None:
            try:
                N.free_kube_backend(self._handle)
            except Exception:  # interpreter shutdown
                pass
            self._handle = None


def _open_storage(uri: str) -> c_void_p:
    """A storage backend for a store URI, for contexts built on FakeKube.

    Mirrors libdaap's built-in sqlite/postgres URI schemes; see the report's
    library gap: a public daap_storage_open(uri) would make this go away."""
    handle = c_void_p()
    if uri == "sqlite::memory:":
        rc = N.daap_storage_sqlite_new(byref(handle), b":memory:")
    elif uri.startswith("sqlite://") and len(uri) > 9:
        rc = N.daap_storage_sqlite_new(byref(handle), N.cstr(uri[9:], "store"))
    elif uri.startswith(("postgres://", "postgresql://")):
        rc = N.daap_storage_postgres_new(byref(handle), N.cstr(uri, "store"))
    else:
        raise InvalidArgument("store URI %r cannot be used with the fake Kubernetes "
                              "(use sqlite:// or postgres://)" % uri.split("://")[0])
    if rc < 0:
        raise N.last_error(rc)
    return handle


# ------------------------------------------------------------------- client

_Statuses = Union[str, Status, Iterable[Union[str, Status]], None]


class Client:
    """One libdaap context: either a store plus a Kubernetes cluster (local
    mode) or a daap-server (remote mode, ``server="http://..."``).

    Local-mode options (None means libdaap's default, which also reads the
    DAAP_* environment variables):
        store: store URI: sqlite:///path/daap.db, sqlite::memory:, postgres://...
        kubeconfig: kubeconfig path(s), ':'-separated; "fake" for the in-memory
            Kubernetes (then see ``fake_kube``).
        secret_key_file: the AES-256 key that encrypts stored passwords.
        namespace: namespace for new databases ("daap").
        kube_context, template_dir, cluster_domain, image_map ("17=repo/img:17.6,..."),
        default_pg_version, max_instances, provisioning_deadline (seconds),
        kube_timeout (seconds per Kubernetes call).
        allow_insecure_tls: accept kubeconfigs with insecure-skip-tls-verify.
        create_key: create secret_key_file (mode 0600) if it does not exist.
        no_kube: open the store only (migrations, read-only tools).
        check_schema: refuse a store whose schema is not fully migrated (default).
        auto_migrate: migrate the store to the latest schema when opening.
        kube: a FakeKube instance to use instead of a real cluster.

    Remote-mode options:
        server: the daap-server base URL.
        team: your team; sent as X-Daap-Team and the default ``team`` of
            update() and delete().
    """

    def __init__(self, store: Optional[str] = None, kubeconfig: Optional[str] = None,
                 secret_key_file: Optional[str] = None, namespace: Optional[str] = None, *,
                 server: Optional[str] = None, team: Optional[str] = None,
                 kube_context: Optional[str] = None, template_dir: Optional[str] = None,
                 cluster_domain: Optional[str] = None, image_map: Optional[str] = None,
                 default_pg_version: Optional[int] = None, max_instances: Optional[int] = None,
                 provisioning_deadline: Optional[float] = None,
                 kube_timeout: Optional[float] = None, allow_insecure_tls: bool = False,
                 create_key: bool = False, no_kube: bool = False, check_schema: bool = True,
                 auto_migrate: bool = False, kube: Optional[FakeKube] = None):
        self._lock = threading.RLock()
        self._ctx = None
        self.team = team
        self.fake_kube: Optional[FakeKube] = None
        if server is not None and store is not None:
            raise InvalidArgument("give either server= (a daap-server) or store= (a local store), not both")
        if server is not None and (kubeconfig or kube):
            raise InvalidArgument("a remote Client (server=) talks to no Kubernetes itself")
        if kubeconfig == "fake" and kube is None:
            kube = FakeKube()
            kubeconfig = None
        if kube is not None and kube._client is not None:
            raise InvalidArgument("this FakeKube already belongs to another Client")
        if kubeconfig:
            kubeconfig = os.pathsep.join(os.path.expanduser(p) for p in kubeconfig.split(os.pathsep))

        opts = N.daap_ctx_options()
        N.check(N.daap_ctx_options_init(byref(opts), N.DAAP_CTX_OPTIONS_VERSION))
        opts.store_uri = N.cstr(server if server is not None else store, "server" if server else "store")
        opts.kubeconfig = N.cstr(kubeconfig, "kubeconfig")
        opts.kube_context = N.cstr(kube_context, "kube_context")
        opts.namespace_ = N.cstr(namespace, "namespace")
        opts.template_dir = N.cstr(template_dir, "template_dir")
        opts.secret_key_file = N.cstr(os.path.expanduser(secret_key_file) if secret_key_file else None,
                                      "secret_key_file")
        opts.cluster_domain = N.cstr(cluster_domain, "cluster_domain")
        opts.image_map = N.cstr(image_map, "image_map")
        opts.team = N.cstr(team, "team")
        opts.default_pg_version = default_pg_version or 0
        opts.max_instances = max_instances or 0
        opts.provisioning_deadline_ms = int(provisioning_deadline * 1000) if provisioning_deadline else 0
        opts.kube_timeout_ms = int(kube_timeout * 1000) if kube_timeout else 0
        flags = 0
        if allow_insecure_tls:
            flags |= N.CTX_ALLOW_INSECURE_TLS
        if create_key:
            flags |= N.CTX_CREATE_KEY
        if no_kube:
            flags |= N.CTX_NO_KUBE
        if not check_schema or auto_migrate:
            flags |= N.CTX_NO_SCHEMA_CHECK
        opts.flags = flags

        ctx = c_void_p()
        with self._lock:
            if kube is None:
                rc = N.daap_ctx_open(byref(ctx), byref(opts))
                if rc < 0:
                    raise N.last_error(rc)
            else:
                uri = store or os.environ.get("DAAP_STORE")
                if not uri:
                    raise InvalidArgument("store= is required with the fake Kubernetes")
                storage = _open_storage(uri)
                rc = N.daap_ctx_open_backends(byref(ctx), storage, kube._live(), byref(opts))
                if rc < 0:
                    exc = N.last_error(rc)
                    N.free_storage_backend(storage)  # the caller keeps both on failure
                    raise exc
                kube._client = self
                self.fake_kube = kube
            self._ctx = ctx
        if auto_migrate:
            try:
                self.migrate()
            except BaseException:
                self.close()
                raise

    # -- plumbing

    def _handle(self):
        if self._ctx is None:
            raise Error("this daap.Client is closed")
        return self._ctx

    def _call(self, fn, *args):
        """Call fn(ctx, *args) under the lock; raise the mapped exception on
        failure, reading daap_error_last() before anything else can run."""
        with self._lock:
            rc = fn(self._handle(), *args)
            if rc < 0:
                raise N.last_error(rc)
            return rc

    def _fetch(self, fn, *args) -> Database:
        """fn(&out, ctx, *args) returning a daap_db *: copy it and free it."""
        out = c_void_p()
        with self._lock:
            rc = fn(byref(out), self._handle(), *args)
            try:
                if rc < 0:
                    raise N.last_error(rc)
                return _database(out, self)
            finally:
                N.daap_db_free(out)

    def close(self) -> None:
        """Close the context (and its backends). Safe to call twice."""
        with self._lock:
            if self._ctx is not None:
                N.daap_ctx_free(self._ctx)
                self._ctx = None
                if self.fake_kube is not None:
                    self.fake_kube._handle = None  # freed with the context

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_ctx", None) is not None:
            try:
                self.close()
            except Exception:  # interpreter shutdown: the module may be half gone
                pass

    def __repr__(self) -> str:
        if self._ctx is None:
            return "<daap.Client closed>"
        return "<daap.Client %s namespace=%s>" % ("remote" if self.is_remote else "local", self.namespace)

    @property
    def is_remote(self) -> bool:
        """True when this Client talks to a daap-server."""
        with self._lock:
            return bool(N.daap_ctx_is_remote(self._handle()))

    @property
    def namespace(self) -> Optional[str]:
        """The Kubernetes namespace new databases go to."""
        with self._lock:
            return N.text(N.daap_ctx_namespace(self._handle()))

    def ping(self) -> None:
        """Check that the store and Kubernetes (or the server) answer; raises Unavailable."""
        self._call(N.daap_ctx_ping)

    # -- databases

    @staticmethod
    def _spec(name, owner_team, purpose, instances, storage_size, pg_version, idempotency_key=None,
              deletion_protection=False):
        spec = N.daap_db_spec()
        N.check(N.daap_db_spec_init(byref(spec), N.DAAP_DB_SPEC_VERSION))
        spec.name = N.cstr(name, "name")
        spec.owner_team = N.cstr(owner_team, "owner_team")
        spec.purpose = N.cstr(purpose, "purpose")
        spec.instances = instances or 0
        spec.storage_size = N.cstr(storage_size, "storage_size")
        spec.pg_version = pg_version or 0
        spec.idempotency_key = N.cstr(idempotency_key, "idempotency_key")
        spec.deletion_protection = 1 if deletion_protection else 0
        return spec

    def create(self, name: str, owner_team: str, purpose: str, instances: Optional[int] = None,
               storage_size: Optional[str] = None, pg_version: Optional[int] = None,
               idempotency_key: Optional[str] = None, deletion_protection: bool = False) -> Database:
        """Ask for a database. Returns the record, status "provisioning".
        deletion_protection=True refuses delete() until unprotect().

        idempotency_key: makes a retry safe (docs/idempotency.md): the same
        key with the same request returns the first call's database instead
        of creating another; with another request it raises InvalidArgument,
        and while the first call is still running, Conflict.

        Raises InvalidArgument (with field_errors), AlreadyExists, Conflict, Unavailable."""
        spec = self._spec(name, owner_team, purpose, instances, storage_size, pg_version, idempotency_key,
                          deletion_protection)
        return self._fetch(N.daap_db_create, byref(spec))

    def validate(self, name: str, owner_team: str, purpose: str, instances: Optional[int] = None,
                 storage_size: Optional[str] = None, pg_version: Optional[int] = None) -> None:
        """Check a create request without creating anything; raises InvalidArgument."""
        spec = self._spec(name, owner_team, purpose, instances, storage_size, pg_version)
        self._call(N.daap_db_validate, byref(spec))

    def get(self, id: str) -> Database:
        """The current record; with ``connection`` when ready. Raises NotFound."""
        return self._fetch(N.daap_db_get, N.cstr(id, "id"))

    def list(self, owner_team: Optional[str] = None, status: _Statuses = None,
             name: Optional[str] = None, limit: Optional[int] = None,
             include_deleted: bool = False, page_size: Optional[int] = None) -> Iterator[Database]:
        """Iterate over records in creation order, following the cursors.

        owner_team: only this team's; status: a status or several; name: a
        name prefix; limit: stop after this many records in total;
        page_size: records per round trip (1..100, default 100 or limit).
        """
        if limit is not None and limit <= 0:
            raise InvalidArgument("limit must be a positive number of records")
        mask = self._status_mask(status)
        if page_size is None:
            page_size = min(limit, 100) if limit else 100
        return self._iter(N.cstr(owner_team, "owner_team"), mask, N.cstr(name, "name"),
                          bool(include_deleted), limit, page_size)

    def _status_mask(self, status: _Statuses) -> int:
        if status is None:
            return 0
        if isinstance(status, str):
            status = [status]
        mask = 0
        for s in status:
            value = c_int()
            with self._lock:
                rc = N.daap_db_status_parse(byref(value), N.cstr(str(s), "status"))
                if rc < 0:
                    raise N.last_error(rc)
            mask |= 1 << value.value
        return mask

    def _iter(self, owner_team, mask, name_prefix, include_deleted, limit, page_size):
        def page_of(cursor):
            opts = N.daap_db_list_options()
            N.check(N.daap_db_list_options_init(byref(opts), N.DAAP_DB_LIST_OPTIONS_VERSION))
            opts.owner_team = owner_team
            opts.status_mask = mask
            opts.name_prefix = name_prefix
            opts.include_deleted = 1 if include_deleted else 0
            opts.limit = page_size
            opts.cursor = cursor
            page = N.daap_db_page()
            with self._lock:
                rc = N.daap_db_list(byref(page), self._handle(), byref(opts))
                try:
                    if rc < 0:
                        raise N.last_error(rc)
                    return ([_database(page.items[i], self) for i in range(page.count)],
                            ctypes.string_at(page.next_cursor) if page.next_cursor else None)
                finally:
                    N.daap_db_page_dispose(byref(page))
        return _paged(page_of, limit)

    def _team(self, team: Optional[str]) -> bytes:
        team = team if team is not None else self.team
        if not team:
            raise InvalidArgument("the caller's team is required (team=..., or Client(team=...))")
        return N.cstr(team, "team")

    def update(self, id: str, *, team: Optional[str] = None, owner_team: Optional[str] = None,
               purpose: Optional[str] = None, deletion_protection: Optional[bool] = None) -> Database:
        """Change owner_team, purpose and/or deletion_protection, as `team`
        (which must own the database; default: the Client's team). Raises
        Forbidden, NotFound, InvalidArgument, Conflict."""
        spec = N.daap_db_update_spec()
        N.check(N.daap_db_update_spec_init(byref(spec), N.DAAP_DB_UPDATE_VERSION))
        spec.owner_team = N.cstr(owner_team, "owner_team")
        spec.purpose = N.cstr(purpose, "purpose")
        if deletion_protection is not None:
            spec.deletion_protection = N.PROTECTION_ON if deletion_protection else N.PROTECTION_OFF
        return self._fetch(N.daap_db_update, N.cstr(id, "id"), self._team(team), byref(spec))

    def resize(self, id: str, *, team: Optional[str] = None, storage_size: Optional[str] = None,
               instances: Optional[int] = None) -> Database:
        """Grow storage_size (never shrink; up to the server's maximum) and/or
        change instances of a ready database. It stays ready while CNPG rolls
        the change out; status_reason starts with "rolling out:" until done.
        Raises InvalidArgument (a shrink, a bad value), Conflict (not ready,
        or another resize still rolling out), Forbidden, NotFound."""
        if storage_size is None and instances is None:
            raise InvalidArgument("resize needs storage_size and/or instances")
        spec = N.daap_db_update_spec()
        N.check(N.daap_db_update_spec_init(byref(spec), N.DAAP_DB_UPDATE_VERSION))
        spec.storage_size = N.cstr(storage_size, "storage_size")
        spec.instances = instances or 0
        return self._fetch(N.daap_db_update, N.cstr(id, "id"), self._team(team), byref(spec))

    # -- password rotation (docs/day2.md)

    def rotate_password(self, id: str, *, team: Optional[str] = None) -> Database:
        """Give a ready database a new random password, as `team` (its owner).
        Returns the record at once: still ready, with the old password, and a
        status_reason that starts with "rotating password:". The reconciler
        writes the new password into the Cluster's -app Secret and, once a
        login with it succeeds through the pooler, into the record (wait()
        and get() then show it); if none succeeds within the rotation
        deadline the old password is kept and events() says why. Raises
        Conflict (not ready, or a resize or another rotation under way),
        Forbidden, NotFound."""
        return self._fetch(N.daap_db_rotate_password, N.cstr(id, "id"), self._team(team))

    def protect(self, id: str, *, team: Optional[str] = None) -> Database:
        """Turn deletion protection on: delete() raises DeletionProtected until unprotect()."""
        return self.update(id, team=team, deletion_protection=True)

    def unprotect(self, id: str, *, team: Optional[str] = None) -> Database:
        """Turn deletion protection off, so that delete() works again."""
        return self.update(id, team=team, deletion_protection=False)

    def delete(self, id: str, *, team: Optional[str] = None) -> Database:
        """Delete a database, as `team`. Returns the record (status deleting,
        or deleted if it was already gone). Raises Forbidden, NotFound,
        DeletionProtected (turn it off with unprotect() first)."""
        out = c_void_p()
        caller = self._team(team)
        with self._lock:
            rc = N.daap_db_delete(byref(out), self._handle(), N.cstr(id, "id"), caller)
            try:
                # NOTFOUND with a record means "already deleted": idempotent.
                if rc < 0 and not (rc == N.errors.ENOTFOUND and out):
                    raise N.last_error(rc)
                return _database(out, self)
            finally:
                N.daap_db_free(out)

    # -- event history

    def events(self, id: str, type: Optional[str] = None, limit: Optional[int] = None,
               page_size: Optional[int] = None) -> Iterator[Event]:
        """Iterate over a database's events, newest first, following the
        cursors; also for a deleted database. type="warning": only warnings;
        limit: stop after this many; page_size: events per round trip
        (1..200). Raises NotFound, InvalidArgument."""
        if type not in (None, "warning"):
            raise InvalidArgument("type must be None or 'warning'")
        if limit is not None and limit <= 0:
            raise InvalidArgument("limit must be a positive number of events")
        if page_size is None:
            page_size = min(limit, 200) if limit else 200
        return self._iter_events(N.cstr(id, "id"), type == "warning", limit, page_size)

    def _iter_events(self, id, warnings_only, limit, page_size):
        def page_of(cursor):
            opts = N.daap_db_events_options()
            N.check(N.daap_db_events_options_init(byref(opts), N.DAAP_DB_EVENTS_OPTIONS_VERSION))
            opts.limit = page_size
            opts.cursor = cursor
            opts.warnings_only = 1 if warnings_only else 0
            page = N.daap_db_event_page()
            with self._lock:
                rc = N.daap_db_events(byref(page), self._handle(), id, byref(opts))
                try:
                    if rc < 0:
                        raise N.last_error(rc)
                    return ([_event(page.items[i]) for i in range(page.count)],
                            ctypes.string_at(page.next_cursor) if page.next_cursor else None)
                finally:
                    N.daap_db_event_page_dispose(byref(page))
        return _paged(page_of, limit)

    # -- waiting and reconciling

    def wait(self, id: str, revision: int, timeout: float = 30.0) -> Database:
        """Wait until the record's revision differs from `revision` and return
        it: at once when it already does. Through a daap-server the server
        holds the request (GET /databases/{id}?wait=&revision=) and answers as
        soon as it writes; locally the store is read every 100 ms (nothing
        reconciles in local mode unless you do). Raises Timeout when the record
        is still at `revision` after `timeout` seconds, NotFound once it is
        deleted."""
        opts = N.daap_db_wait_options()
        N.daap_db_wait_options_init(byref(opts), N.DAAP_DB_WAIT_OPTIONS_VERSION)
        opts.revision = int(revision)
        opts.timeout_ms = max(0, int(timeout * 1000))
        return self._fetch(N.daap_db_wait, N.cstr(id, "id"), byref(opts))

    def _pause(self, db: Database, seconds: float) -> None:
        """Sleep up to `seconds`, but come back as soon as db changes."""
        try:
            self.wait(db.id, db.revision, seconds)
        except (Timeout, NotFound, Unavailable):
            pass

    def wait_ready(self, id: str, timeout: float = 900.0, poll_interval: Optional[float] = None) -> Database:
        """Wait until a database is ready and return it (with ``connection``).

        Through a daap-server each round is a server-side wait (wait()), so
        the answer comes as the record changes. In local mode each round
        first reconciles that record (there is no server doing it). Raises ProvisioningFailed when it ends in error (or
        is being deleted), Timeout after `timeout` seconds, NotFound.
        """
        remote = self.is_remote
        # Remote: each pause is a server-side wait that ends at the next change.
        interval = poll_interval if poll_interval is not None else (30.0 if remote else 0.2)
        deadline = time.monotonic() + timeout
        problem = None
        while True:
            if not remote:
                try:
                    self.reconcile(id)
                    problem = None
                except (Unavailable, Timeout, Conflict) as e:  # transient: keep polling
                    problem = e
            db = self.get(id)
            if db.status is Status.READY:
                return db
            if db.status is not Status.PROVISIONING:
                raise ProvisioningFailed("database %s is %s: %s" % (db.name, db.status.value,
                                                                     db.status_reason or "no reason given"), db)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                detail = db.status_reason or "no reason given"
                if problem is not None:
                    detail += "; last reconcile error: %s" % problem
                raise Timeout("database %s not ready after %gs (still provisioning: %s)"
                              % (db.name, timeout, detail), code=N.errors.ETIMEOUT, error_class="reconcile")
            self._pause(db, min(interval, remaining))

    def wait_deleted(self, db: Database, timeout: float = 300.0,
                     poll_interval: Optional[float] = None) -> Database:
        """Wait until a deleted database (the record delete() returned) has
        status "deleted", i.e. its Pooler and Cluster are gone."""
        remote = self.is_remote
        # Remote: each pause is a server-side wait that ends at the next change.
        interval = poll_interval if poll_interval is not None else (30.0 if remote else 0.2)
        deadline = time.monotonic() + timeout
        while True:
            if not remote:
                try:
                    self.reconcile(db.id)
                except (Unavailable, Timeout, Conflict, NotFound):
                    pass
            current = next((d for d in self.list(name=db.name, include_deleted=True) if d.id == db.id), None)
            if current is None:
                raise NotFound("database %s (%s) is gone from the store" % (db.name, db.id),
                               code=N.errors.ENOTFOUND, error_class="storage")
            if current.status is Status.DELETED:
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout("database %s not deleted after %gs (status %s: %s)"
                              % (db.name, timeout, current.status.value, current.status_reason or "-"),
                              code=N.errors.ETIMEOUT, error_class="reconcile")
            self._pause(current, min(interval, remaining))

    def reconcile(self, id: str) -> None:
        """Reconcile one record now (local mode). Raises NotFound, Unavailable."""
        self._call(N.daap_reconcile_db, N.cstr(id, "id"))

    def reconcile_once(self, timeout: Optional[float] = None, max_records: Optional[int] = None,
                       skip_orphans: bool = False) -> ReconcileResult:
        """One bounded pass over every record that is not final (local mode)."""
        opts = N.daap_reconcile_options()
        N.check(N.daap_reconcile_options_init(byref(opts), N.DAAP_RECONCILE_OPTIONS_VERSION))
        opts.timeout_ms = int(timeout * 1000) if timeout else 0
        opts.max_records = max_records or 0
        opts.skip_orphans = 1 if skip_orphans else 0
        res = N.daap_reconcile_result()
        res.version = N.DAAP_RECONCILE_RESULT_VERSION
        with self._lock:
            rc = N.daap_reconcile_once(byref(res), self._handle(), byref(opts))
            if rc < 0:
                raise N.last_error(rc)
        return ReconcileResult(**{name: int(getattr(res, name)) for name, _ in N.daap_reconcile_result._fields_
                                  if name != "version"})

    # -- schema

    def migrate(self, target: Optional[int] = None) -> MigrationStatus:
        """Migrate the store up to the latest schema (or up/down to `target`)."""
        self._call(N.daap_migrate, -1 if target is None else int(target))
        return self.migration_status()

    def migration_status(self) -> MigrationStatus:
        st = N.daap_migration_status()
        with self._lock:
            rc = N.daap_migration_status_get(byref(st), self._handle())
            if rc < 0:
                raise N.last_error(rc)
            try:
                items = tuple(Migration(version=int(st.items[i].version), name=N.text(st.items[i].name),
                                        applied=bool(st.items[i].applied),
                                        applied_at=_time(st.items[i].applied_at),
                                        checksum_ok=bool(st.items[i].checksum_ok))
                              for i in range(st.count))
                return MigrationStatus(current=int(st.current), latest=int(st.latest), migrations=items)
            finally:
                N.daap_migration_status_dispose(byref(st))
