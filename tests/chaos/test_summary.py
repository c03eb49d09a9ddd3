"""The chaos results: every scenario's Results file, passed or failed, ends up as one row of the
table that summary.py prints (what `make test-chaos` and `make test-chaos-full` end with)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import chaoslib as C

HERE = os.path.dirname(os.path.abspath(__file__))


class FakeSim:
    def stats(self):
        return {"injected": {"error_503": 7, "watch_drop": 2}}


class Summary(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="chaos-results-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir]))
        patcher = mock.patch.object(C, "RESULTS_DIR", self.dir)
        patcher.start()
        self.addCleanup(patcher.stop)

    def summary(self):
        return subprocess.run([sys.executable, os.path.join(HERE, "summary.py"), self.dir], capture_output=True,
                              text=True)

    def test_every_scenario_is_a_row_pass_or_fail(self):
        crash = C.Results("Crash.test_sigkill_during_storm", FakeSim())
        for _ in range(3):
            crash.add_faults("SIGKILL")
        crash.record(kills_survived=3, orphans=0, lost_acked_writes=0, duplicates=0, acked_creates=40,
                     acked_deletes=12, settle_s=4.2)
        crash.passed()
        crash.write()
        storage = C.Results("SqliteBusy.test_write_lock_held_elsewhere")
        storage.add_faults("SQLite write lock held elsewhere", 2)
        storage.note("not settled within 60s: 1 records pending")
        storage.write()     # never passed(): a failed scenario still has its row
        with open(os.path.join(self.dir, "Crash.test_sigkill_during_storm.json")) as f:
            doc = json.load(f)
        self.assertEqual((doc["outcome"], doc["faults_injected"], doc["kills_survived"]), ("pass", 12, 3))
        out = self.summary()
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = {line.split()[0]: line.split() for line in out.stdout.splitlines() if line.split()}
        self.assertEqual(rows["Crash.test_sigkill_during_storm"][1:], ["pass", "12", "3", "0", "0", "0", "40", "12",
                                                                       "4.2"])
        self.assertEqual(rows["SqliteBusy.test_write_lock_held_elsewhere"][1:4], ["FAIL", "2", "-"])
        self.assertIn("SIGKILL 3, kubesim error_503 7, kubesim watch_drop 2", out.stdout)
        self.assertIn("not settled within 60s", out.stdout)
        self.assertIn("2 scenarios, 1 passed, 1 failed", out.stdout)

    def test_no_results_says_so(self):
        out = self.summary()
        self.assertEqual(out.returncode, 1)
        self.assertIn("no results", out.stdout)

    def test_unknown_figure_is_refused(self):
        with self.assertRaises(AssertionError):
            C.Results("x").record(kills=1)


if __name__ == "__main__":
    unittest.main()
