#!/usr/bin/env python3
"""The one port picker of the tests (Python 3 standard library only).

By default a test gets what bind(("127.0.0.1", 0)) gives, a port from the kernel's ephemeral
range, as before. With DAAP_TEST_PORT_BASE set, every port comes from
[DAAP_TEST_PORT_BASE, DAAP_TEST_PORT_BASE + DAAP_TEST_PORT_SPAN) instead (span default 1000),
so that two runs on one machine, or a run beside `make run` (127.0.0.1:8080), can be given ranges
that never meet. A port is returned only after a bind to it succeeded, i.e. it was free.

Python: import testports; testports.free_port(), testports.listen_address().
Shell:  python3 tests/support/testports.py           prints a free port
        python3 tests/support/testports.py --listen  prints 127.0.0.1:PORT, or 127.0.0.1:0 unset
"""
import os
import random
import socket
import sys

BASE_VAR = "DAAP_TEST_PORT_BASE"
SPAN_VAR = "DAAP_TEST_PORT_SPAN"
DEFAULT_SPAN = 1000
HOST = "127.0.0.1"


class PortRangeError(ValueError):
    """DAAP_TEST_PORT_BASE / DAAP_TEST_PORT_SPAN are unusable, or no port of the range is free."""


def _env_int(name, default):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw, 10)
    except ValueError:
        raise PortRangeError("%s=%r is not a whole number" % (name, raw)) from None


def port_range():
    """(first, last) of the configured range, both included; None when DAAP_TEST_PORT_BASE is unset."""
    base = _env_int(BASE_VAR, None)
    if base is None:
        return None
    span = _env_int(SPAN_VAR, DEFAULT_SPAN)
    if not 1024 <= base <= 65535:
        raise PortRangeError("%s=%d must be between 1024 and 65535" % (BASE_VAR, base))
    if span < 1 or base + span - 1 > 65535:
        raise PortRangeError("%s=%d with %s=%d ends past port 65535 (or is empty)" % (BASE_VAR, base, SPAN_VAR, span))
    return base, base + span - 1


def _try_bind(host, port):
    """The port a bind to (host, port) got, port 0 meaning the kernel's choice; None when the
    port is taken. The socket is closed again at once."""
    s = socket.socket()
    try:
        s.bind((host, port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()


def free_port(host=HOST):
    """A port that was free on host a moment ago: from the configured range when there is one
    (probed from a random start, so that concurrent tests of one run rarely try the same port
    first), else from the kernel's ephemeral range."""
    rng = port_range()
    if rng is None:
        return _try_bind(host, 0)
    first, last = rng
    span = last - first + 1
    start = random.randrange(span)
    for i in range(span):
        port = first + (start + i) % span
        if _try_bind(host, port) is not None:
            return port
    raise PortRangeError("no free port in %d-%d (%s, %s)" % (first, last, BASE_VAR, SPAN_VAR))


def listen_address(host=HOST):
    """host:PORT for a server's --listen: a port of the range when one is configured, else host:0
    (the server binds any free port itself and reports it, as before)."""
    return "%s:%d" % (host, free_port(host) if port_range() is not None else 0)


def main(argv):
    try:
        print(listen_address() if argv[1:] == ["--listen"] else free_port())
    except PortRangeError as e:
        print("testports: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
