"""Exceptions raised by the daap bindings.

Every libdaap error code maps to exactly one exception class (the table is
``CODE_TO_CLASS`` below, and nowhere else). All of them derive from
:class:`daap.Error`, so ``except daap.Error`` catches everything the library
reports. A validation failure (:class:`InvalidArgument`) carries the list of
bad fields in ``field_errors``, all reported at once.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

# The frozen numbers of include/daap/errors.h (daap_error_code).
OK = 0
ERROR = -1
ENOTFOUND = -2
EEXISTS = -3
EINVALID = -4
ECONFLICT = -5
EUNAVAILABLE = -6
ETIMEOUT = -7
EAUTH = -8
ENOTSUPPORTED = -9
EFORBIDDEN = -10
EEXPIRED = -11
ECRYPTO = -12
EPROTECTED = -13
ITEROVER = -31

@dataclass(frozen=True)
class FieldError:
    """One bad field of a validation failure."""

    field: str    #: the request field, e.g. "name"
    code: str     #: a stable code: required, pattern, too_long, immutable, ...
    message: str  #: one sentence for a human


class Error(Exception):
    """Base class of every error libdaap reports (code DAAP_ERROR itself too).

    Attributes:
        message: the library's one-line message.
        code: the negative daap_error_code.
        error_class: the subsystem the error came from ("storage", "kube", ...).
        field_errors: a tuple of :class:`FieldError` (empty unless validation).
    """

    code = ERROR

    def __init__(self, message: str, *, code: Optional[int] = None,
                 error_class: str = "none", field_errors: Sequence[FieldError] = ()):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.error_class = error_class
        self.field_errors: Tuple[FieldError, ...] = tuple(field_errors)

    def __str__(self) -> str:
        if not self.field_errors:
            return self.message
        details = "; ".join("%s: %s (%s)" % (f.field, f.message, f.code) for f in self.field_errors)
        return "%s [%s]" % (self.message, details)


class NotFound(Error):
    """The record or object does not exist (or is soft-deleted)."""
    code = ENOTFOUND


class AlreadyExists(Error):
    """The name is already in use."""
    code = EEXISTS


class InvalidArgument(Error):
    """A bad argument or spec; ``field_errors`` lists every bad field."""
    code = EINVALID


class Conflict(Error):
    """Someone else wrote the record first (revision mismatch); retry."""
    code = ECONFLICT


class Unavailable(Error):
    """The store, Kubernetes or the daap-server cannot be reached; retryable."""
    code = EUNAVAILABLE


class Timeout(Error):
    """A deadline passed; retryable."""
    code = ETIMEOUT


class BackendAuth(Error):
    """A backend (store, Kubernetes) rejected the credentials."""
    code = EAUTH


class NotSupported(Error):
    """The backend or this kind of context lacks the capability."""
    code = ENOTSUPPORTED


class Forbidden(Error):
    """The caller's team does not own the database."""
    code = EFORBIDDEN


class Expired(Error):
    """A watch resourceVersion is too old; relist."""
    code = EEXPIRED


class Crypto(Error):
    """Stored credentials cannot be decrypted (wrong secret key?)."""
    code = ECRYPTO


class DeletionProtected(Error):
    """Delete refused: deletion protection is on. Turn it off first
    (``Client.unprotect`` or ``Database.unprotect``)."""
    code = EPROTECTED


class ProvisioningFailed(Error):
    """Raised by ``Client.wait_ready`` when the database ends in ``error``
    (or is being deleted) instead of becoming ready. ``database`` holds the
    record; its ``status_reason`` says why."""

    def __init__(self, message: str, database=None):
        super().__init__(message, code=ERROR, error_class="reconcile")
        self.database = database


# THE mapping from daap_error_code to exception class.
CODE_TO_CLASS = {
    ERROR: Error,
    ENOTFOUND: NotFound,
    EEXISTS: AlreadyExists,
    EINVALID: InvalidArgument,
    ECONFLICT: Conflict,
    EUNAVAILABLE: Unavailable,
    ETIMEOUT: Timeout,
    EAUTH: BackendAuth,
    ENOTSUPPORTED: NotSupported,
    EFORBIDDEN: Forbidden,
    EEXPIRED: Expired,
    ECRYPTO: Crypto,
    EPROTECTED: DeletionProtected,
}


def error_for_code(code: int, message: str, *, error_class: str = "none",
                   field_errors: Sequence[FieldError] = ()) -> Error:
    """Build the exception for a daap_error_code (unknown codes give Error)."""
    cls = CODE_TO_CLASS.get(code, Error)
    return cls(message, code=code, error_class=error_class, field_errors=field_errors)
