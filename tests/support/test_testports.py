"""The tests' port picker (testports.py): DAAP_TEST_PORT_BASE keeps every port in its range, a
port in use is skipped, a bad setting is a clear error, and unset keeps the kernel's choice."""
import os
import random
import socket
import subprocess
import sys
import unittest
from unittest import mock

import testports

HERE = os.path.dirname(os.path.abspath(__file__))
def free_block(n):
    """The first port of n consecutive free ones, below the kernel's ephemeral range (32768 up),
    where no outgoing connection takes a port between the probe and the test."""
    for base in random.sample(range(20000, 32000, 50), 240):
        if all(testports._try_bind(testports.HOST, p) is not None for p in range(base, base + n)):
            return base
    raise AssertionError("no %d free consecutive ports in 20000-32000" % n)


BASE = free_block(20)   # the start of this test's own ranges (20 ports at most)


def occupy(port):
    s = socket.socket()
    s.bind((testports.HOST, port))
    s.listen(1)
    return s


class PortPicker(unittest.TestCase):
    def env(self, base=None, span=None):
        values = {k: v for k, v in ((testports.BASE_VAR, base), (testports.SPAN_VAR, span)) if v is not None}
        patcher = mock.patch.dict(os.environ, values)
        patcher.start()
        self.addCleanup(patcher.stop)
        for k in (testports.BASE_VAR, testports.SPAN_VAR):
            if k not in values:
                os.environ.pop(k, None)

    def test_unset_keeps_the_kernels_choice(self):
        self.env()
        self.assertIsNone(testports.port_range())
        self.assertGreater(testports.free_port(), 0)
        self.assertEqual(testports.listen_address(), "127.0.0.1:0")

    def test_every_port_comes_from_the_range(self):
        self.env(str(BASE), "20")
        self.assertEqual(testports.port_range(), (BASE, BASE + 19))
        ports = {testports.free_port() for _ in range(200)}
        self.assertTrue(ports <= set(range(BASE, BASE + 20)), sorted(ports))
        self.assertGreater(len(ports), 1, "probing starts at a random place in the range")
        host, port = testports.listen_address().rsplit(":", 1)
        self.assertEqual(host, "127.0.0.1")
        self.assertIn(int(port), range(BASE, BASE + 20))

    def test_default_span_is_1000(self):
        self.env("20000")
        self.assertEqual(testports.port_range(), (20000, 20999))

    def test_a_port_in_use_is_skipped(self):
        self.env(str(BASE), "3")
        held = [occupy(BASE), occupy(BASE + 2)]
        self.addCleanup(lambda: [s.close() for s in held])
        self.assertEqual({testports.free_port() for _ in range(30)}, {BASE + 1})
        held.append(occupy(BASE + 1))
        with self.assertRaisesRegex(testports.PortRangeError, "no free port in %d-%d" % (BASE, BASE + 2)):
            testports.free_port()

    def test_bad_settings_are_clear_errors(self):
        for base, span, why in (("abc", None, "not a whole number"), ("80", None, "between 1024 and 65535"),
                                ("65000", None, "ends past port 65535"), (str(BASE), "0", "or is empty"),
                                (str(BASE), "x1", "not a whole number")):
            self.env(base, span)
            with self.assertRaisesRegex(testports.PortRangeError, why):
                testports.free_port()

    def test_the_chaos_tests_pick_from_the_range(self):
        sys.path.insert(0, os.path.join(HERE, "..", "chaos"))
        import chaoslib
        self.env(str(BASE), "10")
        self.assertTrue({chaoslib.free_port() for _ in range(50)} <= set(range(BASE, BASE + 10)))

    def test_command_line(self):
        env = dict(os.environ, **{testports.BASE_VAR: str(BASE), testports.SPAN_VAR: "10"})
        script = os.path.join(HERE, "testports.py")
        port = int(subprocess.run([sys.executable, script], env=env, capture_output=True, text=True,
                                  check=True).stdout)
        self.assertIn(port, range(BASE, BASE + 10))
        listen = subprocess.run([sys.executable, script, "--listen"], env=env, capture_output=True, text=True,
                                check=True).stdout.strip()
        self.assertIn(int(listen.rsplit(":", 1)[1]), range(BASE, BASE + 10))
        env[testports.BASE_VAR] = "nope"
        bad = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("DAAP_TEST_PORT_BASE='nope' is not a whole number", bad.stderr)


if __name__ == "__main__":
    unittest.main()
