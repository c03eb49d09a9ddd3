"""Stop a kubesim and everything it started, found through its state dir (works after SIGKILL too)."""
import glob
import os
import signal
import subprocess
import sys
import time

from .backing import PGTMP



RUN_FILES = ("kubesim.pid", "kubesim.port", "url")


def remove_run_files(state_dir):
    """Forget a stopped kubesim: the files that say one runs in state_dir."""
    for f in RUN_FILES:
        try:
            os.unlink(os.path.join(state_dir, f))
        except OSError:
            pass

def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return None


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _kill_wait(pid, timeout, label):
    if not _alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    print("kubesim-down: %s (pid %d) ignored SIGTERM, sending SIGKILL" % (label, pid), file=sys.stderr)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return
    deadline = time.time() + 5
    while time.time() < deadline and _alive(pid):
        time.sleep(0.05)


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def processes_of(state_dir):
    """(pid, argv) of live postgres/pgbouncer/kubesim processes whose arguments mention state_dir."""
    state_dir = os.path.realpath(state_dir)
    out = []
    skip = {os.getpid(), os.getppid()}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        if pid in skip or not _alive(pid):
            continue
        argv = _cmdline(pid)
        if not argv:
            continue
        prog = os.path.basename(argv[0])
        is_ours = prog in ("postgres", "pgbouncer", "postmaster") or \
            any(os.path.basename(a) == "kubesim" for a in argv[:3])
        if not is_ours:
            continue
        if any(names_dir(a, state_dir) for a in argv):
            out.append((pid, argv))
    return out


def names_dir(arg, state_dir):
    """Does one argument name state_dir or a path under it (not merely a path that starts with
    the same characters, such as state_dir + "2")?"""
    for value in (arg, arg.split("=", 1)[1] if "=" in arg else None):
        if value is not None and (value == state_dir or value.startswith(state_dir + "/")):
            return True
    return (" " + state_dir + "/") in arg or arg.endswith(" " + state_dir)


def cleanup_leftovers(state_dir):
    """PgBouncers and PostgreSQL left behind by a kubesim that was killed (no kubesim process involved)."""
    for pf in glob.glob(os.path.join(state_dir, "poolers", "*", "pgbouncer.pid")):
        p = _read_pid(pf)
        if p and _alive(p):
            argv = _cmdline(p) or []
            if any(os.path.dirname(pf) in a for a in argv):
                _kill_wait(p, 5, "pgbouncer")
    pgdir = os.path.join(state_dir, "pg")
    pm = os.path.join(pgdir, "data", "postmaster.pid")
    if os.path.exists(pm):
        p = _read_pid(pm)
        if p and _alive(p) and os.access(PGTMP, os.X_OK):
            subprocess.run([PGTMP, "stop", pgdir], capture_output=True, timeout=120)
    for p, argv in processes_of(state_dir):
        _kill_wait(p, 5, os.path.basename(argv[0]))


def running_kubesim(state_dir):
    """pid of a live kubesim that owns state_dir, or None. A pid file can outlive its kubesim, and
    pids are reused (pid_max is often 32768): the process must be a kubesim started on this very
    state dir, or some other test's kubesim-up or kubesim would be stopped."""
    pid = _read_pid(os.path.join(state_dir, "kubesim.pid"))
    if not pid or pid == os.getpid() or not _alive(pid):
        return None
    argv = _cmdline(pid) or []
    is_kubesim = any(os.path.basename(a) == "kubesim" for a in argv[:3])
    return pid if is_kubesim and any(names_dir(a, state_dir) for a in argv) else None


def down(state_dir, quiet=False):
    state_dir = os.path.realpath(state_dir)
    if not os.path.isdir(state_dir):
        if not quiet:
            print("kubesim-down: no state dir %s" % state_dir, file=sys.stderr)
        return 0
    # 1. kubesim itself: a clean SIGTERM stops PgBouncers and PostgreSQL.
    pid = running_kubesim(state_dir)
    if pid:
        _kill_wait(pid, 30, "kubesim")
    # 2. leftovers after a SIGKILL: PgBouncers from their pid files, PostgreSQL through pgtmp, and
    # anything else still running that names the state dir.
    cleanup_leftovers(state_dir)
    left = processes_of(state_dir)
    remove_run_files(state_dir)
    if left:
        print("kubesim-down: still running: %s" % ", ".join("%d %s" % (p, a[0]) for p, a in left), file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: kubesim-down STATE_DIR", file=sys.stderr)
        return 2
    return down(argv[0])
