"""Slow and greedy clients (issue 15): a header deadline and a per-address
connection limit. Raw sockets, several loopback source addresses (127.0.0.x)
so that the per-address limit does not simply refuse the whole flood.

Sizes: CHAOS_SLOWLORIS (connections held open, default 2000)."""
import os
import resource
import select
import shutil
import socket
import statistics
import threading
import time
import unittest

import chaoslib as C

FLOOD = C.env_int("CHAOS_SLOWLORIS", 2000)
PER_ADDRESS = 50
PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise unittest.SkipTest("RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def slow_connection(port, source, send=PARTIAL):
    """A connection that has sent part of its request headers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    if send:
        s.sendall(send)
    s.setblocking(False)
    return s


def closed_by_server(socks, wait_s=0.0):
    """The sockets the server has closed (readable: EOF, reset, or an answer then EOF)."""
    p = select.poll()
    by_fd = {s.fileno(): s for s in socks}
    for fd in by_fd:
        p.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    out = []
    for fd, _ in p.poll(int(wait_s * 1000)):
        try:
            data = by_fd[fd].recv(4096, socket.MSG_PEEK)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data == b"" or data.startswith(b"HTTP/1.1 408"):
            out.append(by_fd[fd])
    return out


def read_all(s, timeout=5):
    s.setblocking(True)
    s.settimeout(timeout)
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    except OSError:
        pass
    return b"".join(chunks)


class Trickle:
    """Keeps connections alive the slowloris way: one header byte at a time."""

    def __init__(self, socks, every_s):
        self.socks, self.every_s = socks, every_s
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop_ev.wait(self.every_s):
            for s in self.socks:
                try:
                    s.send(b"X")
                except OSError:
                    pass

    def stop(self):
        self.stop_ev.set()
        self.t.join()


def timed_healthz(srv):
    t0 = time.monotonic()
    status, _ = srv.try_request("GET", "/healthz", timeout=30)
    return status, time.monotonic() - t0


class SlowClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        C.skip_unless_built()
        raise_fd_limit(2 * FLOOD + 1024)  # the server inherits it: both ends of every connection
        cls.dir = C.work_dir("daap-slowloris-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.sim = C.Kubesim(os.path.join(cls.dir, "kubesim"))
        cls.addClassCleanup(cls.sim.stop)

    def server(self, name, *args):
        srv = C.Server(self.dir, "sqlite://" + os.path.join(self.dir, name + ".db"), self.sim.kubeconfig,
                       args=["--threads", "2"] + list(args), name=name)
        srv.start()
        self.addCleanup(srv.stop_checked)
        return srv

    def close_all(self, socks):
        for s in socks:
            s.close()

    def test_healthz_answers_while_slowloris_connections_are_open(self):
        srv = self.server("flood", "--header-timeout", "10m", "--max-connections", str(FLOOD + 500),
                          "--max-connections-per-ip", str(4 * PER_ADDRESS))
        socks = []
        self.addCleanup(self.close_all, socks)
        for i in range(FLOOD):
            socks.append(slow_connection(srv.port, "127.0.0.%d" % (2 + i // PER_ADDRESS)))
        trickle = Trickle(socks, 1.0)
        self.addCleanup(trickle.stop)
        time.sleep(1.5)
        times = []
        for _ in range(60):
            status, took = timed_healthz(srv)
            self.assertEqual(status, 200)
            times.append(took)
        dropped = closed_by_server(socks)
        C.say("slowloris: %d connections open, /healthz median %.1f ms, max %.1f ms" %
              (len(socks) - len(dropped), 1000 * statistics.median(times), 1000 * max(times)))
        self.assertLess(len(dropped), FLOOD // 20, "the flood did not stay open, so it proves nothing")
        self.assertLess(statistics.median(times), 0.5, times)
        self.assertLess(max(times), 3.0, times)

    def test_headers_not_in_by_the_deadline_get_408_and_close(self):
        srv = self.server("deadline", "--header-timeout", "2s")
        socks = [slow_connection(srv.port, "127.0.0.%d" % (2 + i % 4)) for i in range(20)]
        self.addCleanup(self.close_all, socks)
        trickle = Trickle(socks, 0.2)
        self.addCleanup(trickle.stop)
        t0 = time.monotonic()
        self.assertEqual(closed_by_server(socks, 1.0), [], "closed before the deadline")
        C.wait_for(lambda: len(closed_by_server(socks)) == len(socks), 8, interval=0.2,
                   what="every slow connection to be closed")
        self.assertLess(time.monotonic() - t0, 8)
        trickle.stop()
        answer = read_all(socks[0])
        self.assertTrue(answer.startswith(b"HTTP/1.1 408"), answer[:300])
        self.assertIn(b"application/problem+json", answer)
        self.assertIn(b"X-Request-Id: ", answer)
        self.assertEqual(timed_healthz(srv)[0], 200)

    def test_a_busy_server_does_not_blame_its_clients(self):
        """Headers sent in time but not yet read, because the server's only
        thread is busy with a slow request, are not the client's fault."""
        srv = self.server("busy", "--threads", "1", "--header-timeout", "1s")
        early = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
        self.addCleanup(early.close)
        time.sleep(0.3)  # accepted: its deadline runs from now
        self.sim.faults(latency_ms=2500)  # a create makes two Kubernetes calls: ~5 s on the one thread
        self.addCleanup(self.sim.clear_faults)
        slow = threading.Thread(target=srv.request, args=("POST", "/databases",
                                                          {"name": "busy", "owner_team": "t", "purpose": "p"}))
        slow.start()
        time.sleep(0.5)
        early.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = read_all(early, timeout=20)
        slow.join(30)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:300])

    def test_keep_alive_requests_are_not_cut(self):
        """A fast client on one connection, over several deadlines' time."""
        srv = self.server("keepalive", "--header-timeout", "1s")
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        self.addCleanup(s.close)
        for _ in range(8):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                b = s.recv(4096)
                self.assertTrue(b, "the connection was closed between requests")
                head += b
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            time.sleep(0.4)

    def test_connections_per_address_are_limited(self):
        srv = self.server("perip", "--max-connections-per-ip", "10", "--header-timeout", "30s")
        socks = [slow_connection(srv.port, "127.0.0.9") for _ in range(40)]
        self.addCleanup(self.close_all, socks)
        time.sleep(1.0)
        still_open = len(socks) - len(closed_by_server(socks))
        self.assertGreater(still_open, 0)
        self.assertLessEqual(still_open, 10)
        self.assertEqual(timed_healthz(srv)[0], 200)  # from 127.0.0.1: another address


if __name__ == "__main__":
    unittest.main()
