"""HTTP edges (issue 12): the refusals that libmicrohttpd used to answer
itself with HTML pages (431, a missing Host), answered as problem+json with
a request id. (HEAD is in test_api, beside the other documented operations.)"""
import json
import unittest

from daaptest import ServerTestCase, raw_exchange, split_answer


def request_bytes(path, headers):
    lines = ["GET %s HTTP/1.1" % path] + ["%s: %s" % kv for kv in headers] + ["Connection: close", "", ""]
    return "\r\n".join(lines).encode()


class HeaderLimitTest(ServerTestCase):
    def assert_problem(self, answer, status, needle):
        headers, body = split_answer(answer)
        self.assertEqual(headers.get("content-type"), "application/problem+json", answer[:300])
        self.assertTrue(headers.get("x-request-id"), headers)
        doc = json.loads(body)
        self.assertEqual(doc["status"], status)
        self.assertEqual(doc["request_id"], headers["x-request-id"])
        self.assertIn(needle, doc["detail"])
        return doc

    def test_oversized_headers_get_a_problem_431(self):
        for size in (17 * 1024, 60 * 1024, 96 * 1024):
            status, answer = raw_exchange(self.srv.port, request_bytes("/healthz", [("Host", "x"), ("X-Big", "a" * size)]))
            self.assertEqual(status, 431, (size, answer[:200]))
            self.assert_problem(answer, 431, "16384 bytes")

    def test_many_small_headers_add_up(self):
        headers = [("Host", "x")] + [("X-H%d" % i, "v" * 100) for i in range(200)]
        status, answer = raw_exchange(self.srv.port, request_bytes("/databases", headers))
        self.assertEqual(status, 431, answer[:200])
        self.assert_problem(answer, 431, "larger than")

    def test_headers_under_the_limit_are_served(self):
        status, answer = raw_exchange(self.srv.port, request_bytes("/healthz", [("Host", "x"), ("X-Big", "a" * 8000)]))
        self.assertEqual(status, 200, answer[:200])

    def test_http11_without_host_gets_a_problem_400(self):
        status, answer = raw_exchange(self.srv.port, b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, 400, answer[:200])
        self.assert_problem(answer, 400, "Host")

    def test_http10_without_host_is_served(self):
        status, answer = raw_exchange(self.srv.port, b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(status, 200, answer[:200])

    def test_the_server_still_serves_after_the_refusals(self):
        self.test_oversized_headers_get_a_problem_431()
        self.assertEqual(self.srv.get("/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
