"""ctypes declarations for libdaap: loading, structures, prototypes.

This module mirrors include/daap/*.h (and the few include/daap/sys/*.h
functions the fake Kubernetes needs). Every function used by the bindings is
declared here with argtypes and restype; nothing else in the package touches
ctypes function objects directly.

Rules that follow from the C API (STYLE.md sections 4 to 6):
- strings returned by getters are borrowed: ``text()`` copies them at once;
- after a failing call, ``raise_last(rc)`` must be the very next library
  call, on the same thread, because the last error is thread-local;
- option structs are filled with their ``*_init`` functions, since ctypes
  cannot see the ``*_INIT`` macros.
"""

import ctypes
import ctypes.util
import os
import pathlib
import sysconfig
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char_p, c_int, c_int32,
                    c_int64, c_size_t, c_uint, c_uint32, c_uint64, c_void_p)

from . import errors

#: The library major.minor these bindings are written for. While daap is 0.x
#: the ABI is stable only within a minor release (SONAME libdaap.so.0.<minor>).
EXPECTED_VERSION = (0, 1)
SONAME = "libdaap.so.%d.%d" % EXPECTED_VERSION

# ---------------------------------------------------------------- structures


class daap_field_error(Structure):
    _fields_ = [("field", c_char_p), ("code", c_char_p), ("message", c_char_p)]


class daap_error(Structure):
    _fields_ = [("message", c_char_p), ("klass", c_int), ("code", c_int),
                ("fields", POINTER(daap_field_error)), ("field_count", c_size_t)]


class daap_buf(Structure):
    # ptr is c_void_p, not c_char_p: ctypes would copy a c_char_p and lose
    # the pointer that daap_buf_dispose must free.
    _fields_ = [("ptr", c_void_p), ("size", c_size_t), ("asize", c_size_t)]


class daap_ctx_options(Structure):
    _fields_ = [("version", c_uint),
                ("store_uri", c_char_p),
                ("kubeconfig", c_char_p),
                ("kube_context", c_char_p),
                ("namespace_", c_char_p),
                ("template_dir", c_char_p),
                ("secret_key_file", c_char_p),
                ("cluster_domain", c_char_p),
                ("image_map", c_char_p),
                ("default_pg_version", c_int32),
                ("max_instances", c_int32),
                ("provisioning_deadline_ms", c_int64),
                ("kube_timeout_ms", c_int32),
                ("flags", c_uint),
                ("team", c_char_p),
                # version 2
                ("event_retention_ms", c_int64), ("max_storage_size", c_char_p)]


DAAP_CTX_OPTIONS_VERSION = 2
CTX_ALLOW_INSECURE_TLS = 1 << 0
CTX_CREATE_KEY = 1 << 1
CTX_NO_KUBE = 1 << 2
CTX_NO_SCHEMA_CHECK = 1 << 3


class daap_db_spec(Structure):
    _fields_ = [("version", c_uint), ("name", c_char_p), ("owner_team", c_char_p),
                ("purpose", c_char_p), ("instances", c_int32), ("storage_size", c_char_p),
                ("pg_version", c_int32),
                # version 2
                ("idempotency_key", c_char_p), ("deletion_protection", c_int32)]


DAAP_DB_SPEC_VERSION = 2


class daap_db_list_options(Structure):
    _fields_ = [("version", c_uint), ("owner_team", c_char_p), ("status_mask", c_uint),
                ("name_prefix", c_char_p), ("include_deleted", c_int32), ("limit", c_uint32),
                ("cursor", c_char_p)]


DAAP_DB_LIST_OPTIONS_VERSION = 1


class daap_db_page(Structure):
    # next_cursor stays a raw pointer: daap_db_page_dispose frees it.
    _fields_ = [("items", POINTER(c_void_p)), ("count", c_size_t), ("next_cursor", c_void_p)]


class daap_db_wait_options(Structure):
    _fields_ = [("version", c_uint), ("revision", c_int64), ("timeout_ms", c_int64)]


DAAP_DB_WAIT_OPTIONS_VERSION = 1
DAAP_DB_WAIT_MAX_MS = 60000
class daap_db_event(Structure):
    # Strings are owned by the page: copy them before daap_db_event_page_dispose.
    _fields_ = [("id", c_int64), ("database_id", c_char_p), ("at", c_int64), ("last_at", c_int64),
                ("type", c_int32), ("reason", c_char_p), ("message", c_char_p),
                ("from_status", c_char_p), ("to_status", c_char_p), ("actor", c_char_p),
                ("request_id", c_char_p), ("count", c_int64)]


class daap_db_event_page(Structure):
    _fields_ = [("items", POINTER(daap_db_event)), ("count", c_size_t), ("next_cursor", c_void_p)]


class daap_db_events_options(Structure):
    _fields_ = [("version", c_uint), ("limit", c_uint32), ("cursor", c_char_p), ("warnings_only", c_int32)]


DAAP_DB_EVENTS_OPTIONS_VERSION = 1


class daap_db_update_spec(Structure):
    _fields_ = [("version", c_uint), ("owner_team", c_char_p), ("purpose", c_char_p),
                ("deletion_protection", c_int32),  # version 2: a daap_db_protection
                ("instances", c_int32), ("storage_size", c_char_p)]  # version 3: a resize


DAAP_DB_UPDATE_VERSION = 3
PROTECTION_UNCHANGED, PROTECTION_ON, PROTECTION_OFF = 0, 1, 2


class daap_reconcile_options(Structure):
    _fields_ = [("version", c_uint), ("timeout_ms", c_int64), ("max_records", c_uint32),
                ("skip_orphans", c_int32)]


DAAP_RECONCILE_OPTIONS_VERSION = 1


class daap_reconcile_result(Structure):
    _fields_ = [("version", c_uint), ("examined", c_uint32), ("transitions", c_uint32),
                ("objects_created", c_uint32), ("objects_deleted", c_uint32),
                ("orphans_removed", c_uint32), ("conflicts", c_uint32), ("failures", c_uint32),
                ("pending", c_uint32)]


DAAP_RECONCILE_RESULT_VERSION = 1


class daap_migration_info(Structure):
    _fields_ = [("version", c_int32), ("name", c_char_p), ("applied", c_int32),
                ("applied_at", c_int64), ("checksum_ok", c_int32)]


class daap_migration_status(Structure):
    _fields_ = [("items", POINTER(daap_migration_info)), ("count", c_size_t),
                ("current", c_int32), ("latest", c_int32)]


# The leading, frozen part of the backend vtables (include/daap/sys/*.h):
# only needed to release a backend that a failed daap_ctx_open_backends()
# left with us.
_kube_free_fn = CFUNCTYPE(None, c_void_p)
_storage_free_fn = CFUNCTYPE(None, c_void_p)


class _kube_backend_head(Structure):
    _fields_ = [("version", c_uint), ("name", c_char_p), ("caps", c_uint),
                ("create", c_void_p), ("get", c_void_p), ("remove", c_void_p),
                ("list", c_void_p), ("free", _kube_free_fn)]


class _storage_backend_head(Structure):
    _fields_ = [("version", c_uint), ("name", c_char_p),
                ("insert", c_void_p), ("get", c_void_p), ("list", c_void_p),
                ("update", c_void_p), ("free", _storage_free_fn)]


# Feature bits (daap_features()).
FEATURE_SQLITE = 1 << 0
FEATURE_POSTGRES = 1 << 1
FEATURE_KUBE_REST = 1 << 2
FEATURE_REMOTE = 1 << 3

# daap_kube_fake_method
FAKE_CREATE, FAKE_GET, FAKE_REMOVE, FAKE_LIST, FAKE_WATCH, FAKE_PATCH = range(6)

# ------------------------------------------------------------------- loading


def _candidates():
    """Where to look for libdaap, in order (see the package README)."""
    env = os.environ.get("DAAP_LIBRARY")
    if env:
        # An explicit choice: no silent fallback when it is wrong.
        return [env], True
    here = pathlib.Path(__file__).resolve().parent
    found = []
    # 1. The install prefix the package was installed into.
    try:
        from . import _install_paths  # written by `cmake --install`
        found.append(os.path.normpath(str(here / _install_paths.LIBDIR_FROM_PACKAGE / SONAME)))
    except ImportError:
        pass
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for up in range(2, min(5, len(here.parents))):
        # <prefix>/lib/python3/dist-packages/daap, <prefix>/share/daap/python/daap
        prefix = here.parents[up]
        for libdir in ("lib", "lib64", "lib/" + multiarch if multiarch else None):
            if libdir:
                found.append(str(prefix / libdir / SONAME))
    # 2. A build tree next to the sources (bindings/python/daap -> <root>/build).
    root = here.parents[2]
    for build in ("build", "build-asan", "build-cov"):
        found.append(str(root / build / "libdaap" / SONAME))
    # 3. The system loader.
    name = ctypes.util.find_library("daap")
    if name:
        found.append(name)
    found.append(SONAME)
    return found, False


def _load():
    tried = []
    paths, explicit = _candidates()
    for path in paths:
        if os.sep in path and not os.path.exists(path):
            tried.append("%s (missing)" % path)
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            if explicit:
                break
    raise ImportError("daap: cannot load libdaap (set DAAP_LIBRARY to the path of %s); tried: %s"
                      % (SONAME, "; ".join(tried)))


lib = _load()


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


# global.h
daap_init = _fn("daap_init", c_int)
daap_shutdown = _fn("daap_shutdown", c_int)
daap_version = _fn("daap_version", c_int, POINTER(c_int), POINTER(c_int), POINTER(c_int))
daap_version_string = _fn("daap_version_string", c_char_p)
daap_features = _fn("daap_features", c_uint)
# errors.h
daap_error_last = _fn("daap_error_last", POINTER(daap_error))
daap_strerror = _fn("daap_strerror", c_char_p, c_int)
daap_error_code_name = _fn("daap_error_code_name", c_char_p, c_int)
daap_error_class_name = _fn("daap_error_class_name", c_char_p, c_int)
daap_error_clear = _fn("daap_error_clear", None)
# buffer.h
daap_buf_dispose = _fn("daap_buf_dispose", None, POINTER(daap_buf))
daap_free = _fn("daap_free", None, c_void_p)
# types.h
daap_db_status_name = _fn("daap_db_status_name", c_char_p, c_int)
daap_db_status_parse = _fn("daap_db_status_parse", c_int, POINTER(c_int), c_char_p)
# ctx.h
daap_ctx_options_init = _fn("daap_ctx_options_init", c_int, POINTER(daap_ctx_options), c_uint)
daap_ctx_open = _fn("daap_ctx_open", c_int, POINTER(c_void_p), POINTER(daap_ctx_options))
daap_ctx_free = _fn("daap_ctx_free", None, c_void_p)
daap_ctx_ping = _fn("daap_ctx_ping", c_int, c_void_p)
daap_ctx_namespace = _fn("daap_ctx_namespace", c_char_p, c_void_p)
daap_ctx_is_remote = _fn("daap_ctx_is_remote", c_int, c_void_p)
daap_secret_key_create = _fn("daap_secret_key_create", c_int, c_char_p)
# db.h
daap_db_spec_init = _fn("daap_db_spec_init", c_int, POINTER(daap_db_spec), c_uint)
daap_db_validate = _fn("daap_db_validate", c_int, c_void_p, POINTER(daap_db_spec))
daap_db_create = _fn("daap_db_create", c_int, POINTER(c_void_p), c_void_p, POINTER(daap_db_spec))
daap_db_get = _fn("daap_db_get", c_int, POINTER(c_void_p), c_void_p, c_char_p)
daap_db_list_options_init = _fn("daap_db_list_options_init", c_int, POINTER(daap_db_list_options), c_uint)
daap_db_list = _fn("daap_db_list", c_int, POINTER(daap_db_page), c_void_p, POINTER(daap_db_list_options))
daap_db_page_dispose = _fn("daap_db_page_dispose", None, POINTER(daap_db_page))
daap_db_update_spec_init = _fn("daap_db_update_spec_init", c_int, POINTER(daap_db_update_spec), c_uint)
daap_db_update = _fn("daap_db_update", c_int, POINTER(c_void_p), c_void_p, c_char_p, c_char_p,
                     POINTER(daap_db_update_spec))
daap_db_delete = _fn("daap_db_delete", c_int, POINTER(c_void_p), c_void_p, c_char_p, c_char_p)
daap_db_rotate_password = _fn("daap_db_rotate_password", c_int, POINTER(c_void_p), c_void_p, c_char_p, c_char_p)
daap_db_wait_options_init = _fn("daap_db_wait_options_init", c_int, POINTER(daap_db_wait_options), c_uint)
daap_db_wait = _fn("daap_db_wait", c_int, POINTER(c_void_p), c_void_p, c_char_p, POINTER(daap_db_wait_options))
daap_db_events_options_init = _fn("daap_db_events_options_init", c_int, POINTER(daap_db_events_options), c_uint)
daap_db_events = _fn("daap_db_events", c_int, POINTER(daap_db_event_page), c_void_p, c_char_p,
                     POINTER(daap_db_events_options))
daap_db_event_page_dispose = _fn("daap_db_event_page_dispose", None, POINTER(daap_db_event_page))
daap_db_event_type_name = _fn("daap_db_event_type_name", c_char_p, c_int)
daap_db_free = _fn("daap_db_free", None, c_void_p)
daap_db_uri = _fn("daap_db_uri", c_int, POINTER(daap_buf), c_void_p)
daap_db_to_json = _fn("daap_db_to_json", c_int, POINTER(daap_buf), c_void_p, c_uint)

DB_TEXT_GETTERS = ("id", "name", "owner_team", "purpose", "namespace", "cluster_name", "pooler_name",
                   "storage_size", "status_reason", "host", "dbname", "username", "password",
                   "direct_host")
DB_INT32_GETTERS = ("instances", "pg_version", "port", "direct_port")
DB_INT64_GETTERS = ("revision", "created_at", "updated_at", "ready_at", "deleted_at")
db_get = {}
for _n in DB_TEXT_GETTERS:
    db_get[_n] = _fn("daap_db_" + _n, c_char_p, c_void_p)
for _n in DB_INT32_GETTERS:
    db_get[_n] = _fn("daap_db_" + _n, c_int32, c_void_p)
for _n in DB_INT64_GETTERS:
    db_get[_n] = _fn("daap_db_" + _n, c_int64, c_void_p)
db_get["status"] = _fn("daap_db_status", c_int, c_void_p)
db_get["deletion_protection"] = _fn("daap_db_deletion_protection", c_int, c_void_p)
# migrate.h
daap_migrate = _fn("daap_migrate", c_int, c_void_p, c_int32)
daap_migration_status_get = _fn("daap_migration_status_get", c_int, POINTER(daap_migration_status), c_void_p)
daap_migration_status_dispose = _fn("daap_migration_status_dispose", None, POINTER(daap_migration_status))
# reconcile.h
daap_reconcile_options_init = _fn("daap_reconcile_options_init", c_int, POINTER(daap_reconcile_options), c_uint)
daap_reconcile_once = _fn("daap_reconcile_once", c_int, POINTER(daap_reconcile_result), c_void_p,
                          POINTER(daap_reconcile_options))
daap_reconcile_db = _fn("daap_reconcile_db", c_int, c_void_p, c_char_p)
# sys/storage.h and sys/kube.h: only for the in-memory Kubernetes (FakeKube).
daap_storage_sqlite_new = _fn("daap_storage_sqlite_new", c_int, POINTER(c_void_p), c_char_p)
daap_storage_postgres_new = _fn("daap_storage_postgres_new", c_int, POINTER(c_void_p), c_char_p)
daap_ctx_open_backends = _fn("daap_ctx_open_backends", c_int, POINTER(c_void_p), c_void_p, c_void_p,
                             POINTER(daap_ctx_options))
daap_kube_fake_new = _fn("daap_kube_fake_new", c_int, POINTER(c_void_p))
daap_kube_fake_set_cluster_phase = _fn("daap_kube_fake_set_cluster_phase", c_int, c_void_p, c_char_p,
                                       c_char_p, c_char_p)
daap_kube_fake_set_auto_ready = _fn("daap_kube_fake_set_auto_ready", c_int, c_void_p, c_int)
daap_kube_fake_fail = _fn("daap_kube_fake_fail", c_int, c_void_p, c_int, c_uint32, c_int)
daap_kube_fake_calls = _fn("daap_kube_fake_calls", c_uint64, c_void_p, c_int)

# ------------------------------------------------------------------- helpers


def text(value):
    """Copy a borrowed C string (bytes from a c_char_p restype) to str."""
    return None if value is None else value.decode("utf-8", "replace")


def cstr(value, what="argument"):
    """A Python str for a const char * parameter (None stays NULL)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    if "\0" in value:
        raise errors.InvalidArgument("%s contains a NUL character" % what, code=errors.EINVALID,
                                     error_class="invalid")
    return value.encode("utf-8")


def last_error(rc):
    """Build the exception for return code rc from daap_error_last().

    Must run right after the failing call, on the same thread."""
    err = daap_error_last().contents
    message = text(err.message) or ""
    fields = [errors.FieldError(text(err.fields[i].field) or "", text(err.fields[i].code) or "",
                                text(err.fields[i].message) or "")
              for i in range(err.field_count if err.fields else 0)]
    klass = text(daap_error_class_name(err.klass))
    if err.code != rc or not message:
        # The recorded error belongs to another call: keep only what rc says.
        message = message if err.code == rc and message else text(daap_strerror(rc))
        fields = fields if err.code == rc else []
        klass = klass if err.code == rc else "none"
    return errors.error_for_code(rc, message, error_class=klass, field_errors=fields)


def check(rc):
    """Raise the mapped exception when rc is negative; return rc otherwise."""
    if rc < 0:
        raise last_error(rc)
    return rc


def buf_text(buf):
    """Copy a daap_buf's contents to str and dispose of it."""
    try:
        return ctypes.string_at(buf.ptr, buf.size).decode("utf-8") if buf.ptr else ""
    finally:
        daap_buf_dispose(byref(buf))


def library_version():
    major, minor, patch = c_int(), c_int(), c_int()
    daap_version(byref(major), byref(minor), byref(patch))
    return major.value, minor.value, patch.value


def _check_version():
    got = library_version()
    if got[:2] != EXPECTED_VERSION:
        raise ImportError("daap: these bindings need libdaap %d.%d.x but %s is %d.%d.%d"
                          % (EXPECTED_VERSION + (lib._name,) + got))


def free_kube_backend(handle):
    """Release a kube backend we still own (after a failed open)."""
    head = ctypes.cast(handle, POINTER(_kube_backend_head)).contents
    head.free(handle)


def free_storage_backend(handle):
    """Release a storage backend we still own (after a failed open)."""
    head = ctypes.cast(handle, POINTER(_storage_backend_head)).contents
    head.free(handle)


_check_version()
if daap_init() < 0:
    raise ImportError("daap: daap_init() failed: %s" % (text(daap_error_last().contents.message) or "?"))
# The matching daap_shutdown() is left to process exit on purpose: contexts
# that are still open when the interpreter exits must not outlive the
# library state they use.
