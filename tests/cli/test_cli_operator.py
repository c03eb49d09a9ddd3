"""daapctl in operator mode on a real (simulated) cluster: a SQLite store
plus kubesim, no daap-server. create --wait drives the reconciler itself."""
import os
import shutil
import subprocess
import tempfile
import unittest

from clitest import SOURCE_DIR, CliTestCase, clean_env, daapctl, write_key


class OperatorTest(CliTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="daapctl-operator-")
        cls.kubesim = os.path.join(cls.dir, "kubesim")
        up = os.path.join(SOURCE_DIR, "tools", "kubesim", "kubesim-up")
        cls.kubeconfig = subprocess.run([up, cls.kubesim, "--no-backing", "--ready-delay", "0.3"], env=clean_env(),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                                        check=True).stdout.strip()
        cls.key = write_key(os.path.join(cls.dir, "key"))
        cls.env = clean_env(DAAP_STORE="sqlite://" + os.path.join(cls.dir, "daap.db"), DAAP_TEAM="ops")
        r = daapctl("migrate", "up", env=cls.env)
        assert r.rc == 0, repr(r)

    @classmethod
    def tearDownClass(cls):
        down = os.path.join(SOURCE_DIR, "tools", "kubesim", "kubesim-down")
        subprocess.run([down, cls.kubesim], env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def op(self, *args):
        return daapctl("--kubeconfig", self.kubeconfig, "--secret-key-file", self.key, *args, env=self.env)

    def test_delete_wait_drives_the_deletion(self):
        # Operator mode: nobody else reconciles, so --wait steps the reconciler itself.
        self.assertExit(self.op("create", "shortlived", "--purpose", "p", "--wait", "--timeout", "60s"), 0)
        r = self.op("delete", "shortlived", "--yes", "--wait", "--timeout", "60s")
        self.assertExit(r, 0)
        self.assertIn("Deleted database shortlived", r.out)
        self.assertExit(self.op("get", "shortlived"), 3)

    def test_create_wait_reconcile_delete(self):
        r = self.op("create", "ledger", "--purpose", "books", "--wait", "--timeout", "60s")
        self.assertExit(r, 0)
        self.assertRegex(r.out, r"Status:\s+ready")
        got = self.op("get", "ledger", "-o", "json").json()
        self.assertTrue(got["connection"]["password"])
        self.assertEqual(self.op("url", "ledger").out.strip(), got["connection"]["uri"])

        # Without the key the password cannot be read: crypto failure.
        r = daapctl("get", "ledger", env=self.env)
        self.assertExit(r, 11)

        r = self.op("reconcile", "--once", "-o", "json")
        self.assertExit(r, 0)
        self.assertGreaterEqual(r.json()["examined"], 0)
        self.assertEqual(r.json()["failures"], 0)

        r = self.op("delete", "ledger", "--yes")
        self.assertExit(r, 0)
        for _ in range(20):
            if self.op("reconcile", "--once", "-o", "json").json()["pending"] == 0:
                break
        listed = self.op("list", "--include-deleted", "--name", "ledger", "-o", "json").json()["items"]
        self.assertEqual([d["status"] for d in listed], ["deleted"])

    def test_reconcile_needs_a_store(self):
        r = daapctl("--server", "http://127.0.0.1:9", "reconcile", "--once")
        self.assertExit(r, 2)


if __name__ == "__main__":
    unittest.main()
