"""kubesim-up / kubesim-down: repeated start/stop and SIGKILL leave no PostgreSQL or PgBouncer behind."""
import os
import signal
import subprocess
import unittest
import urllib.parse

from ksim import CNPG, KUBESIM, KUBESIM_DOWN, KUBESIM_UP, Client, cluster, new_dir, own_processes, pooler, wait_for
from ksim import testports

CYCLES = int(os.environ.get("KUBESIM_TEST_CYCLES", "20"))


class _Target:
    """What Client needs, read from a state dir written by kubesim."""

    def __init__(self, state):
        self.state = state
        with open(os.path.join(state, "url")) as f:
            u = urllib.parse.urlsplit(f.read().strip())
        self.http = u.scheme == "http"
        self.host, self.port = u.hostname, u.port
        with open(os.path.join(state, "token")) as f:
            self.token = f.read().strip()


def up(state, *flags):
    r = subprocess.run([KUBESIM_UP, state, "--ready-delay", "0", "--pooler-delay", "0"] + list(flags),
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("kubesim-up failed: %s%s" % (r.stdout, r.stderr))
    return r.stdout.strip()


def down(state):
    return subprocess.run([KUBESIM_DOWN, state], capture_output=True, text=True, timeout=120)


def start_pooler(state, name="ss"):
    t = _Target(state)
    c = Client(t, token=t.token)
    assert c.post(CNPG + "/namespaces/daap/clusters", cluster(name)).status == 201
    assert c.post(CNPG + "/namespaces/daap/poolers", pooler(name + "-pooler", name)).status == 201
    items = wait_for(lambda: [i for i in c.get("/kubesim/poolers").json["items"] if i["alive"]], timeout=20,
                     msg="pgbouncer running")
    c.close()
    return items[0]["pid"]


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


class StartStopTests(unittest.TestCase):
    def test_repeated_start_stop(self):
        state = new_dir("cycles-")
        try:
            for i in range(CYCLES):
                kc = up(state)
                self.assertEqual(kc, os.path.join(state, "kubeconfig"))
                pid = start_pooler(state)
                procs = own_processes(state)
                progs = sorted({os.path.basename(a[0]) for _, a in procs})
                self.assertIn("pgbouncer", progs, "cycle %d: %r" % (i, procs))
                self.assertIn("postgres", progs, "cycle %d: %r" % (i, procs))
                r = down(state)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertFalse(alive(pid), "cycle %d: pgbouncer %d still alive" % (i, pid))
                left = own_processes(state)
                self.assertEqual(left, [], "cycle %d: stray processes %r" % (i, left))
        finally:
            down(state)

    def test_sigkill_then_down(self):
        state = new_dir("sigkill-")
        try:
            up(state)
            bpid = start_pooler(state)
            with open(os.path.join(state, "kubesim.pid")) as f:
                kpid = int(f.read())
            os.kill(kpid, signal.SIGKILL)
            wait_for(lambda: not alive(kpid), msg="kubesim killed")
            progs = sorted({os.path.basename(a[0]) for _, a in own_processes(state)})
            self.assertEqual(progs, ["pgbouncer", "postgres"], "orphans expected after SIGKILL")
            r = down(state)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(alive(bpid))
            self.assertEqual(own_processes(state), [])
        finally:
            down(state)

    def test_sigterm_cleans_up_by_itself(self):
        state = new_dir("sigterm-")
        p = subprocess.Popen([KUBESIM, "--state-dir", state, "--listen", testports.listen_address(),
                              "--ready-delay", "0", "--pooler-delay", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = p.stdout.readline()
            self.assertTrue(line.startswith("kubesim: listening on https://127.0.0.1:"), line)
            with open(os.path.join(state, "kubesim.port")) as f:
                self.assertEqual(line.strip().rsplit(":", 1)[1], f.read().strip())
            bpid = start_pooler(state)
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(60), 0)
            self.assertFalse(alive(bpid))
            self.assertEqual(own_processes(state), [], "kubesim must stop its own PostgreSQL and PgBouncers")
            self.assertFalse(os.path.exists(os.path.join(state, "kubesim.pid")))
        finally:
            if p.poll() is None:
                p.kill()
            p.stdout.close()
            down(state)


if __name__ == "__main__":
    unittest.main()
