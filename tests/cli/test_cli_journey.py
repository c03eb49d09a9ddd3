"""The whole day-2 journey of issue 13 ("Everywhere"), through daapctl
against a daap-server and kubesim with a real PostgreSQL and PgBouncer:
create, protect, refuse delete, rotate the password and connect with the
new one (the old one no longer works), grow storage, scale instances,
unprotect, delete. Skips, saying why, without the server binary or psql."""
import os
import shutil
import subprocess
import time
import unittest

from clitest import SERVER, CliTestCase, RemoteStack, clean_env, daapctl

stack = None


def setUpModule():
    global stack
    if not SERVER or not os.access(SERVER, os.X_OK):
        raise unittest.SkipTest("daap-server is not built (%s); the journey needs it" % (SERVER or "no path"))
    if shutil.which("psql") is None:
        raise unittest.SkipTest("psql is not installed (scripts/install-deps)")
    stack = RemoteStack(backing=True)
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise


def tearDownModule():
    if stack:
        stack.stop()


def psql(uri, sql="select current_user"):
    return subprocess.run(["psql", uri, "-XAtc", sql], capture_output=True, text=True, timeout=60,
                          env=dict(clean_env(), PGCONNECT_TIMEOUT="5"))


def with_password(uri, old, new):
    assert old in uri
    return uri.replace(old, new)


class JourneyTest(CliTestCase):
    team = "payments"

    def ctl(self, *args, **kw):
        return daapctl(*args, env=clean_env(DAAP_SERVER=stack.url, DAAP_TEAM=self.team), **kw)

    def get(self, name):
        r = self.ctl("get", name, "-o", "json")
        self.assertExit(r, 0)
        return r.json()

    def settle(self, name, timeout=90):
        """Wait until no change is rolling out: the plain ready reason again."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.get(name)
            if got["status"] == "ready" and got["status_reason"] == "the Cluster is healthy and the pooler is serving":
                return got
            if time.monotonic() > deadline:
                self.fail("%s did not settle: %s" % (name, got))
            time.sleep(0.2)

    def test_the_whole_journey(self):
        name = "journey"
        # create
        r = self.ctl("create", name, "--purpose", "the day-2 journey", "--wait", "--timeout", "90s", "-o", "json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["status"], "ready")
        uri = self.ctl("url", name).out.strip()
        self.assertEqual(psql(uri).returncode, 0, psql(uri).stderr)

        # protect, and the delete is refused
        self.assertExit(self.ctl("protect", name), 0)
        r = self.ctl("delete", name, "--yes")
        self.assertExit(r, 14)
        self.assertIn("daapctl unprotect %s" % name, r.err)

        # rotate and connect with the new password; the old one stops working
        old = self.get(name)["connection"]["password"]
        r = self.ctl("rotate-password", name, "--wait", "--timeout", "90s", "-o", "json")
        self.assertExit(r, 0)
        new = r.json()["connection"]["password"]
        self.assertNotEqual(new, old)
        new_uri = self.ctl("url", name).out.strip()
        self.assertEqual(new_uri, with_password(uri, old, new))
        out = psql(new_uri, "select 6*7")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "42")
        self.assertNotEqual(psql(uri).returncode, 0, "the old password still logs in")
        r = self.ctl("events", name, "-o", "json")
        self.assertExit(r, 0)
        self.assertIn("PasswordRotated", [e["reason"] for e in r.json()["items"]])
        self.assertNotIn(new, r.out)

        # grow storage, then scale instances: one change at a time
        r = self.ctl("resize", name, "--storage", "2Gi", "-o", "json")
        self.assertExit(r, 0)
        self.assertExit(self.ctl("rotate-password", name), 6)
        got = self.settle(name)
        self.assertEqual(got["storage_size"], "2Gi")
        self.assertExit(self.ctl("resize", name, "--instances", "2"), 0)
        got = self.settle(name)
        self.assertEqual(got["instances"], 2)
        self.assertEqual(psql(new_uri).returncode, 0, "the rotated password survives the resizes")

        # unprotect, delete
        self.assertExit(self.ctl("unprotect", name), 0)
        self.assertExit(self.ctl("delete", name, "--yes", "--wait", "--timeout", "90s"), 0)
        self.assertExit(self.ctl("get", name), 3)


if __name__ == "__main__":
    unittest.main()
