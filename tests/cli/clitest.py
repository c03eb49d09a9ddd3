"""Shared helpers for the daapctl tests: run the binary in a clean
environment, and start/stop kubesim and daap-server for remote mode."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

DAAPCTL = os.environ.get("DAAPCTL", "")
SERVER = os.environ.get("DAAP_SERVER_BIN", "")
SOURCE_DIR = os.environ.get("DAAP_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import testports  # noqa: E402  (the tests' port picker: DAAP_TEST_PORT_BASE)
BUILD_DIR = os.environ.get("DAAP_BUILD_DIR", "")

# Everything the user's shell might carry that would change what daapctl does.
_SCRUB = re.compile(r"^(DAAP_|KUBECONFIG$|PGPASSWORD$|http_proxy$|https_proxy$|HTTP_PROXY$|HTTPS_PROXY$)")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not _SCRUB.match(k)}
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%d\n--- stdout\n%s--- stderr\n%s" % (self.rc, self.out, self.err)


def daapctl(*args, env=None, stdin=subprocess.DEVNULL, timeout=120, cwd=None):
    """Run daapctl; stdin is not a terminal unless the caller says so."""
    proc = subprocess.run([DAAPCTL] + [str(a) for a in args], env=env if env is not None else clean_env(),
                          stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, cwd=cwd)
    return Result(proc)


def write_key(path):
    with open(path, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(path, 0o600)
    return path


class CliTestCase(unittest.TestCase):
    def assertExit(self, result, status, msg=None):
        self.assertEqual(result.rc, status, msg or repr(result))


class RemoteStack:
    """kubesim plus a daap-server on a free port; kubesim runs without a backing
    PostgreSQL unless backing=True (then real PostgreSQL and PgBouncer)."""

    def __init__(self, kubesim_args=(), backing=False, server_args=()):
        self.backing = backing
        self.server_args = list(server_args)
        base = os.environ.get("DAAP_TEST_WORK_DIR") if backing else None
        self.dir = tempfile.mkdtemp(prefix="daapctl-remote-", dir=base)
        if backing:
            os.chmod(self.dir, 0o755)  # kubesim's backing runs as the postgres user
        self.kubesim_dir = os.path.join(self.dir, "kubesim")
        self.kubesim_args = list(kubesim_args)
        self.server = None
        self.url = None
        self.log = os.path.join(self.dir, "server.log")

    def start(self):
        up = os.path.join(SOURCE_DIR, "tools", "kubesim", "kubesim-up")
        os.makedirs(self.kubesim_dir, mode=0o755, exist_ok=True)
        backing = [] if self.backing else ["--no-backing"]
        kubeconfig = subprocess.run([up, self.kubesim_dir, "--ready-delay", "0.3"] + backing + self.kubesim_args,
                                    env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    timeout=120, check=True).stdout.strip()
        key = write_key(os.path.join(self.dir, "key"))
        args = [SERVER, "--listen", testports.listen_address(),
                "--store", "sqlite://" + os.path.join(self.dir, "daap.db"),
                "--kubeconfig", kubeconfig, "--secret-key-file", key, "--migrate", "--resync-period", "1s"] + self.server_args
        with open(self.log, "w") as log:
            self.server = subprocess.Popen(args, env=clean_env(), stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT)
        self.url = "http://127.0.0.1:%d" % self._port()
        self._wait_ready()

    def _port(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError("daap-server exited: " + open(self.log).read())
            with open(self.log) as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if rec.get("msg") == "listening":
                        return int(rec["port"])
            time.sleep(0.05)
        raise RuntimeError("daap-server did not say where it listens: " + open(self.log).read())

    def _wait_ready(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/readyz", timeout=2).status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("daap-server never became ready: " + open(self.log).read())

    def post(self, body):
        req = urllib.request.Request(self.url + "/databases", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def stop(self):
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        down = os.path.join(SOURCE_DIR, "tools", "kubesim", "kubesim-down")
        if os.path.isdir(self.kubesim_dir):
            subprocess.run([down, self.kubesim_dir], env=clean_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
