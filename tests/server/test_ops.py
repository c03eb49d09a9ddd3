"""Operating daap-server: readiness when Kubernetes goes away, graceful
SIGTERM with a request in flight, configuration precedence and --help."""
import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

from daaptest import SERVER_BIN, ServerTestCase, Server, wait_for


class ReadyzTest(ServerTestCase):
    server_args = ("--resync-period", "2s")

    def test_readyz_503_while_kubernetes_is_down(self):
        self.assertEqual(self.srv.get("/readyz").status, 200)
        self.sim.stop()
        try:
            # The probe asks every second, each ping with a 2 s deadline.
            r = self.srv.wait_answer("/readyz", 503, timeout=5)
            self.assertEqual(r.header("Content-Type"), "application/problem+json")
            self.assertIn("Kubernetes", r.json["detail"])
            self.assertEqual(self.srv.get("/healthz").status, 200, "liveness does not depend on Kubernetes")
        finally:
            self.sim.start()  # same state dir and port: the kubeconfig stays valid
        wait_for(lambda: self.srv.get("/readyz").status == 200, 15, interval=0.2, what="readyz to recover")

    def test_reconciler_survives_a_kubesim_restart(self):
        self.sim.stop()
        self.sim.start()
        db = self.srv.create("after-restart")
        self.srv.wait_status(db["id"], "ready", timeout=10)


class WatchResilienceTest(ServerTestCase):
    """The reconciler survives dropped watches and API errors (no resync
    within the test: readiness must come through the watch)."""
    server_args = ("--resync-period", "60s")

    def test_dropped_watches_and_api_errors(self):
        self.sim.faults(watch_drop_seconds=0.4, error_rate={"watch": 0.3, "get": 0.2}, error_codes=[500, 503, 429],
                        retry_after_seconds=0)
        try:
            time.sleep(1.0)  # let a few watches drop first
            made = [self.srv.create("flaky-%d" % i) for i in range(3)]
            for db in made:
                self.srv.wait_status(db["id"], "ready", timeout=8)
            stats = self.sim.stats()
        finally:
            self.sim.clear_faults()
        self.assertGreater(stats["injected"].get("watch_drop", 0), 0, "no watch was dropped")
        self.assertGreater(sum(v for k, v in stats["injected"].items() if k.startswith("error_")), 0, "no API error")
        self.assertTrue(self.srv.alive())



class Watch410Test(ServerTestCase):
    """After 410 Gone the watch relists and goes on. libdaap's relist does
    not yet reconcile what it lists, so a change that fell between the drop
    and the relist waits for the resync: the bound here is the resync period."""
    server_args = ("--resync-period", "2s")

    def test_410_on_resume(self):
        self.sim.faults(watch_drop_seconds=0.5, watch_410_on_resume=True)
        try:
            time.sleep(1.2)  # a few drops and 410s before the create
            made = [self.srv.create("after-410-%d" % i) for i in range(3)]
            for db in made:
                self.srv.wait_status(db["id"], "ready", timeout=8)
            stats = self.sim.stats()
        finally:
            self.sim.clear_faults()
        self.assertTrue(self.srv.alive())
        self.assertGreater(stats["injected"].get("watch_410", 0), 0, "kubesim never answered 410")


class ShutdownTest(ServerTestCase):
    server_args = ("--resync-period", "60s", "--shutdown-grace", "10s")

    def test_sigterm_finishes_requests_in_flight(self):
        self.sim.faults(latency_ms=1500)  # the create below takes ~3 s in Kubernetes calls
        result = {}

        def slow_create():
            result["resp"] = self.srv.post("/databases", {"name": "in-flight", "owner_team": "t", "purpose": "p"})

        t = threading.Thread(target=slow_create)
        t.start()
        time.sleep(0.7)  # the request is now inside daap_db_create_json
        t0 = time.monotonic()
        self.srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with self.assertRaises(OSError, msg="new connections are refused while draining"):
            self.srv.get("/healthz")
        t.join(30)
        rc = self.srv.proc.wait(30)
        self.sim.clear_faults()
        self.assertEqual(result["resp"].status, 201, "the request in flight was cut")
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 12)
        msgs = [l.get("msg") for l in self.srv.log_lines()]
        self.assertIn("shutting down", msgs)
        self.assertEqual(msgs[-1], "stopped")
        logged = [l for l in self.srv.request_logs() if l["path"] == "/databases" and l["method"] == "POST"]
        self.assertEqual([l["status"] for l in logged], [201])

    def test_sigint_on_an_idle_server(self):
        srv = Server(self.dir, self.srv.store, self.sim.kubeconfig, name="idle").start()
        self.assertEqual(srv.stop(signal.SIGINT, timeout=10), 0)


class ConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not SERVER_BIN or not os.path.exists(SERVER_BIN):
            raise unittest.SkipTest("daap-server not built")

    def run_server(self, *args, env=None, timeout=10):
        e = {k: v for k, v in os.environ.items() if not k.startswith("DAAP_") or k in ("DAAP_SERVER_BIN",)}
        e.update(env or {})
        return subprocess.run([SERVER_BIN] + list(args), capture_output=True, text=True, env=e, timeout=timeout)

    def test_help_lists_every_option_with_its_variable(self):
        out = self.run_server("--help")
        self.assertEqual(out.returncode, 0)
        flags = re.findall(r"^\s+--([a-z-]+)", out.stdout, re.M)
        envs = re.findall(r"env (DAAP_[A-Z_]+)", out.stdout)
        self.assertGreaterEqual(len(envs), 20)
        for key in ("listen", "store", "kubeconfig", "kube_context", "namespace", "template_dir", "secret_key_file",
                    "provisioning_deadline", "resync_period", "log_level", "image_map", "cluster_domain",
                    "max_instances"):
            self.assertIn("[%s]" % key, out.stdout, key)
            self.assertIn(key.replace("_", "-"), flags, key)
        self.assertEqual(len(envs), len(set(envs)))

    def test_bad_values_name_their_source(self):
        out = self.run_server("--listen", "nowhere")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--listen", out.stderr)
        out = self.run_server(env={"DAAP_RESYNC_PERIOD_MS": "soon"})
        self.assertEqual(out.returncode, 2)
        self.assertIn("DAAP_RESYNC_PERIOD_MS", out.stderr)
        out = self.run_server("--bogus")
        self.assertEqual(out.returncode, 2)
        self.assertIn("unknown option", out.stderr)

    def test_config_file_errors_name_the_line(self):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "daap-cfg-%d.yaml" % os.getpid())
        try:
            with open(path, "w") as f:
                f.write("listen: 127.0.0.1:0\nlog_levle: debug\n")
            out = self.run_server("--config", path)
            self.assertEqual(out.returncode, 2)
            self.assertIn("%s:2: unknown key 'log_levle'" % path, out.stderr)
            with open(path, "w") as f:
                f.write("resync_period: forever\n")
            out = self.run_server(env={"DAAP_CONFIG": path})
            self.assertEqual(out.returncode, 2)
            self.assertIn("%s:1" % path, out.stderr)
        finally:
            os.unlink(path)

    def run_briefly(self, d, *args, env=None):
        """Start, give it a moment, SIGTERM; return (exit code, parsed log lines)."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("DAAP_")}
        e.update(env or {})
        log = os.path.join(d, "run.log")
        with open(log, "wb") as f:
            p = subprocess.Popen([SERVER_BIN, "--create-secret-key", "--migrate"] + list(args), stdout=f, stderr=f, env=e)
            time.sleep(1.5)
            p.send_signal(signal.SIGTERM)
            rc = p.wait(20)
        with open(log) as f:
            return rc, [json.loads(l) for l in f if l.strip()]

    def test_precedence_flag_env_file_default(self):
        d = os.path.join(os.environ.get("TMPDIR", "/tmp"), "daap-prec-%d" % os.getpid())
        os.makedirs(d, exist_ok=True)
        cfg = os.path.join(d, "daap.yaml")
        with open(cfg, "w") as f:
            f.write("store: sqlite://%s/file.db\nlog_level: debug\nlisten: 127.0.0.1:0\n"
                    "secret_key_file: %s/key\nkubeconfig: fake\nresync_period: 200ms\n" % (d, d))
        try:
            rc, lines = self.run_briefly(d, "--config", cfg)
            self.assertEqual(rc, 0, lines)
            self.assertTrue(os.path.exists(os.path.join(d, "file.db")), "the file's store is used")
            self.assertTrue(any(l["level"] == "debug" for l in lines), "the file's log_level is used")
            rc, lines = self.run_briefly(d, "--config", cfg, env={"DAAP_LOG_LEVEL": "error"})
            self.assertEqual(rc, 0)
            self.assertEqual([l for l in lines if l["level"] != "error"], [], "the environment beats the file")
            rc, lines = self.run_briefly(d, "--config", cfg, "--log-level", "info", "--store", "sqlite://%s/flag.db" % d,
                                         env={"DAAP_LOG_LEVEL": "error", "DAAP_STORE": "sqlite://%s/env.db" % d})
            self.assertEqual(rc, 0)
            self.assertIn("listening", [l["msg"] for l in lines], "the flag beats the environment")
            self.assertFalse(any(l["level"] == "debug" for l in lines))
            self.assertTrue(os.path.exists(os.path.join(d, "flag.db")))
            self.assertFalse(os.path.exists(os.path.join(d, "env.db")))
        finally:
            subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    unittest.main(verbosity=2)
