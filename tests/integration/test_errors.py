"""Error answers of the gateway itself (SPEC.md "Errors"): 400 malformed / ambiguous
framing, 404 no route, 413, 414, 421, 431. Each is a short text/plain body naming
the request id."""

import socket
import time
import unittest

from harness import (EdgeTestCase, Gateway, KiB, Origin, make_config, parse_responses, raw,
                     read_until, route)


class GatewayErrorsTest(EdgeTestCase):
    MAX_HEADER = 4 * KiB
    MAX_BODY = 64 * KiB

    @classmethod
    def setUpClass(cls):
        cls.origin = cls.enterClassContext(Origin("errors-origin"))
        cfg = make_config(
            cls.origin,
            limits={"max_header_bytes": "4KiB", "max_body_bytes": "64KiB"},
            sites=[{"name": "only", "hosts": ["only.test"],
                    "routes": [route("only", path="/healthz")]}])
        cls.gw = cls.enterClassContext(Gateway(cfg))

    def one(self, request, read_timeout=3.0, expect_close=False):
        """Sends raw bytes; returns (status, headers, body) of the first response."""
        start = time.monotonic()
        data = raw(self.gw.port, request, read_timeout=read_timeout)
        elapsed = time.monotonic() - start
        resps = parse_responses(data)
        self.assertTrue(resps, "no response at all to %r (got %r)" % (request[:200], data[:300]))
        if expect_close:
            self.assertLess(elapsed, read_timeout - 0.2,
                            "connection not closed after an error that makes framing unknown")
        return resps[0]

    def assertError(self, request, expected, expect_close=False):
        status, headers, body = self.one(request, expect_close=expect_close)
        self.assertErrorBody(status, headers, body, expected)
        return status, headers, body

    def origin_requests(self):
        return self.origin.stats()["requests"]

    # ------------------------------------------------------------ routing

    def test_unknown_host_421(self):
        r = self.gw.get("/", host="unknown.example")
        self.assertErrorBody(r.status, r.headers, r.body, 421)

    def test_no_route_404(self):
        r = self.gw.get("/healthz", host="only.test")
        self.assertEqual(r.status, 200, "sanity: the one route of site only")
        r = self.gw.get("/elsewhere", host="only.test")
        self.assertErrorBody(r.status, r.headers, r.body, 404)
        self.assertIsNone(r.header("X-Origin"), "the 404 must be the gateway's, not the origin's")

    # ------------------------------------------------------------ malformed requests

    def test_missing_host_400(self):
        self.assertError(b"GET / HTTP/1.1\r\nUser-Agent: t\r\n\r\n", 400)

    def test_garbage_request_line_400(self):
        self.assertError(b"HELLO THERE\r\n\r\n", 400, expect_close=True)

    def test_header_name_with_space_400(self):
        self.assertError(b"GET / HTTP/1.1\r\nHost: localhost\r\nBad Name: x\r\n\r\n", 400)

    def test_content_length_and_transfer_encoding_400(self):
        for req in (
                b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Length: 5\r\n\r\n0\r\n\r\n"):
            with self.subTest(req=req[:80]):
                before = self.origin_requests()
                self.assertError(req, 400, expect_close=True)
                self.assertEqual(self.origin_requests() - before - 1, 0,
                                 "an ambiguous request reached the origin")

    def test_duplicate_content_length_400(self):
        req = (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
               b"Content-Length: 6\r\n\r\nhello!")
        self.assertError(req, 400, expect_close=True)

    def test_comma_list_content_length_400(self):
        req = b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5, 6\r\n\r\nhello!"
        self.assertError(req, 400, expect_close=True)

    def test_unknown_transfer_coding_rejected(self):
        req = (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n"
               b"xxxx")
        status, headers, body = self.one(req, expect_close=True)
        self.assertIn(status, (400, 501), body)

    def test_obs_fold_400(self):
        req = (b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Folded: first\r\n"
               b"  continued\r\n\r\n")
        self.assertError(req, 400)

    def test_bad_chunk_size_400(self):
        req = (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"zz\r\nhello\r\n0\r\n\r\n")
        status, headers, body = self.one(req, expect_close=True)
        # The origin may already have the head: either the gateway's 400 or a 502, never 200.
        self.assertIn(status, (400, 502), body)

    # ------------------------------------------------------------ sizes

    def test_uri_too_long_414(self):
        req = b"GET /echo?" + b"a" * (2 * self.MAX_HEADER) + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
        self.assertError(req, 414, expect_close=True)

    def test_header_too_big_431(self):
        req = (b"GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * (2 * self.MAX_HEADER)
               + b"\r\n\r\n")
        self.assertError(req, 431, expect_close=True)

    def test_many_headers_too_big_431(self):
        headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(60))
        req = b"GET /echo HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n"
        self.assertError(req, 431, expect_close=True)

    def test_head_just_under_limit_ok(self):
        pad = self.MAX_HEADER - 200
        r = self.gw.get("/echo", headers={"X-Pad": "p" * pad})
        self.assertEqual(r.status, 200, r)

    def test_declared_body_too_big_413_without_reading_it(self):
        before = self.origin_requests()
        s = self.gw.connect()
        try:
            # Only the head: the gateway must answer from Content-Length alone.
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
                      % (self.MAX_BODY * 4))
            data = read_until(s, b"\r\n\r\n", timeout=3)
            data += _drain(s, 1.0)
        finally:
            s.close()
        resps = parse_responses(data)
        self.assertTrue(resps, "no answer to a too-big Content-Length within 3 s: %r" % data)
        self.assertErrorBody(resps[0][0], resps[0][1], resps[0][2], 413)
        self.assertEqual(self.origin_requests() - before - 1, 0, "the request reached the origin")

    def test_expect_continue_with_too_big_body_413_without_100(self):
        s = self.gw.connect()
        try:
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
                      b"Content-Length: %d\r\n\r\n" % (self.MAX_BODY * 4))
            data = read_until(s, b"\r\n\r\n", timeout=3) + _drain(s, 0.5)
        finally:
            s.close()
        self.assertFalse(data.startswith(b"HTTP/1.1 100"), "100 Continue for a body that is "
                         "refused: %r" % data[:200])
        resps = parse_responses(data)
        self.assertTrue(resps, data)
        self.assertEqual(resps[0][0], 413, data[:300])

    def test_body_at_limit_ok(self):
        body = b"x" * self.MAX_BODY
        r = self.gw.request("POST", "/upload", body=body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_bytes"], self.MAX_BODY)

    def test_chunked_body_too_big_413(self):
        s = self.gw.connect()
        data = b""
        try:
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"4000\r\n" + b"c" * 0x4000 + b"\r\n"
            try:
                for _ in range(2 * self.MAX_BODY // 0x4000):
                    s.sendall(chunk)
                s.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the gateway may answer and close before the body ends
            data = read_until(s, b"\r\n\r\n", timeout=3) + _drain(s, 0.5)
        finally:
            s.close()
        resps = parse_responses(data)
        self.assertTrue(resps, "no answer to a too-big chunked body: %r" % data[:300])
        self.assertErrorBody(resps[0][0], resps[0][1], resps[0][2], 413)


def _drain(sock, timeout):
    sock.settimeout(timeout)
    out = b""
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    return out


if __name__ == "__main__":
    unittest.main(verbosity=2)
