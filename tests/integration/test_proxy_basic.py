"""Core proxying: bodies, forwarded headers, request ids, hop-by-hop headers,
keep-alive reuse toward the origin, pipelining. SPEC.md "Headers to the origin",
"Headers to the client"."""

import hashlib
import json
import os
import time
import unittest

from harness import (EdgeTestCase, Gateway, Origin, RawOrigin, curl, make_config, parse_responses,
                     raw, read_response, request_on)
import http.client as httpclient

PATTERN_1K = bytes(97 + i % 26 for i in range(1024))


def echo_headers(echo):
    """The origin's /echo headers as {lower-case name: [values in order]}."""
    out = {}
    for name, value in echo["headers"]:
        out.setdefault(name.lower(), []).append(value)
    return out


class ProxyBasicTest(EdgeTestCase):
    WORKERS = 2

    @classmethod
    def setUpClass(cls):
        cls.origin = cls.enterClassContext(Origin("basic-origin"))
        cls.gw = cls.enterClassContext(Gateway(make_config(cls.origin, workers=cls.WORKERS)))

    def echo(self, path="/echo", headers=None, host="localhost"):
        r = self.gw.get(path, headers=headers, host=host)
        self.assertEqual(r.status, 200, r)
        return r, r.json()

    # ------------------------------------------------------------ bodies and status

    def test_get_root_returns_origin_body(self):
        r = self.gw.get("/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, PATTERN_1K)
        self.assertEqual(r.header("X-Origin"), "basic-origin")
        self.assertTrue(r.header("X-Request-Id"), "no X-Request-Id on the response")

    def test_request_ids_are_unique(self):
        ids = {self.gw.get("/").header("X-Request-Id") for _ in range(5)}
        self.assertEqual(len(ids), 5, ids)

    def test_origin_status_and_headers_pass_through(self):
        r = self.gw.get("/status/404")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("X-Origin"), "basic-origin", "404 must be the origin's")
        r = self.gw.get("/status/503?X-Custom=hello")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.header("X-Custom"), "hello")
        self.assertEqual(r.header("X-Origin"), "basic-origin")

    def test_chunked_response_passes_through(self):
        r = self.gw.get("/chunked")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"".join(b"chunk %d of 4\n" % i for i in range(1, 5)))

    def test_head_then_get_on_one_connection(self):
        conn = httpclient.HTTPConnection("127.0.0.1", self.gw.port, timeout=5)
        try:
            r = request_on(conn, "HEAD", "/", {"Host": "localhost"})
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"")
            self.assertEqual(r.header("Content-Length"), "1024")
            r = request_on(conn, "GET", "/echo?after=head", {"Host": "localhost"})
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["query"], "after=head")
        finally:
            conn.close()

    def test_post_body_reaches_origin(self):
        body = bytes(range(256)) * 40
        r = self.gw.request("POST", "/echo", body=body,
                            headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 200, r)
        echo = r.json()
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body_bytes"], len(body))
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_chunked_request_body_reaches_origin(self):
        req = (b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        resps = parse_responses(raw(self.gw.port, req, read_timeout=5))
        self.assertEqual(len(resps), 1, resps)
        status, _, body = resps[0]
        self.assertEqual(status, 200, body)
        echo = json.loads(body)
        self.assertEqual(echo["body_bytes"], 11)
        self.assertEqual(echo["body_sha256"], hashlib.sha256(b"hello world").hexdigest())

    # ------------------------------------------------------------ headers to the origin

    def test_forwarded_headers(self):
        r, echo = self.echo("/echo/fwd?a=1", host="app.test")
        h = echo_headers(echo)
        self.assertEqual(echo["target"], "/echo/fwd?a=1")
        self.assertEqual(h.get("host"), ["app.test"])
        self.assertEqual(h.get("x-forwarded-for"), ["127.0.0.1"])
        self.assertEqual(h.get("x-forwarded-proto"), ["http"])
        self.assertEqual(h.get("x-forwarded-host"), ["app.test"])
        rid = r.header("X-Request-Id")
        self.assertTrue(rid)
        self.assertEqual(h.get("x-request-id"), [rid],
                         "origin must see the same request id the client gets")

    def test_host_kept_as_sent_with_port_and_case(self):
        host = "LocalHost:%d" % self.gw.port
        r, echo = self.echo("/echo", host=host)
        self.assertEqual(echo_headers(echo).get("host"), [host])

    def test_untrusted_x_forwarded_for_is_replaced(self):
        # trusted_proxies is empty: 127.0.0.1 may not set X-Forwarded-For.
        _, echo = self.echo("/echo", headers={"X-Forwarded-For": "203.0.113.9"})
        self.assertEqual(echo_headers(echo).get("x-forwarded-for"), ["127.0.0.1"])

    def test_sane_request_id_is_kept(self):
        rid = "req-0123456789_abcdef.XYZ"
        r, echo = self.echo("/echo", headers={"X-Request-Id": rid})
        self.assertEqual(r.header("X-Request-Id"), rid)
        self.assertEqual(echo_headers(echo).get("x-request-id"), [rid])

    def test_insane_request_id_is_replaced(self):
        for bad in ("has spaces in it", "a" * 300, "semi;colon<script>"):
            with self.subTest(request_id=bad[:40]):
                r, echo = self.echo("/echo", headers={"X-Request-Id": bad})
                got = r.header("X-Request-Id")
                self.assertTrue(got)
                self.assertNotEqual(got, bad)
                self.assertLessEqual(len(got), 200)
                self.assertRegex(got, r"^[A-Za-z0-9._:-]+$")
                self.assertEqual(echo_headers(echo).get("x-request-id"), [got])

    def test_hop_by_hop_request_headers_not_forwarded(self):
        headers = {
            "Connection": "keep-alive, X-Conn-Listed",
            "X-Conn-Listed": "must-not-pass",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Connection": "keep-alive",
            "X-End-To-End": "kept",
        }
        _, echo = self.echo("/echo", headers=headers)
        h = echo_headers(echo)
        for name in ("x-conn-listed", "keep-alive", "te", "proxy-connection"):
            self.assertNotIn(name, h, "hop-by-hop request header %s reached the origin" % name)
        # Connection toward the origin is the gateway's own business; the client's list is not.
        for v in h.get("connection", []):
            self.assertNotIn("x-conn-listed", v.lower())
        self.assertEqual(h.get("x-end-to-end"), ["kept"])

    def test_upgrade_request_header_not_forwarded(self):
        # Upgrade without Connection: upgrade is no upgrade request; still hop-by-hop.
        _, echo = self.echo("/echo", headers={"Upgrade": "foo/1"})
        self.assertNotIn("upgrade", echo_headers(echo))

    def test_hop_by_hop_response_headers_not_forwarded(self):
        r = self.gw.get("/set?Keep-Alive=timeout%3D99&Proxy-Connection=keep-alive"
                        "&Upgrade=foo%2F1&X-End=yes")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-End"), "yes")
        # The gateway may send a Keep-Alive of its own, not the origin's.
        self.assertNotEqual(r.header("Keep-Alive"), "timeout=99", "origin's Keep-Alive passed")
        for name in ("Proxy-Connection", "Upgrade"):
            self.assertIsNone(r.header(name), "origin's %s reached the client" % name)

    # ------------------------------------------------------------ connections

    def test_keepalive_reuse_toward_origin_separate_client_connections(self):
        before = self.origin.stats()["connections_accepted"]
        for i in range(50):
            r = self.gw.get("/echo?i=%d" % i)
            self.assertEqual(r.status, 200)
        after = self.origin.stats()["connections_accepted"]
        # -1: the second /stats request's own connection.
        new = after - before - 1
        self.assertLessEqual(new, self.WORKERS + 1,
                             "50 requests opened %d origin connections: no keep-alive reuse" % new)

    def test_keepalive_one_client_connection(self):
        before = self.origin.stats()["connections_accepted"]
        conn = httpclient.HTTPConnection("127.0.0.1", self.gw.port, timeout=5)
        try:
            ids = set()
            for i in range(20):
                r = request_on(conn, "GET", "/echo?k=%d" % i, {"Host": "localhost"})
                self.assertEqual(r.status, 200)
                ids.add(r.json()["connection_id"])
        finally:
            conn.close()
        after = self.origin.stats()["connections_accepted"]
        self.assertLessEqual(after - before - 1, 2)
        self.assertLessEqual(len(ids), 2, "origin connections used: %s" % ids)

    def test_pipelined_requests_answered_in_order(self):
        req = (b"GET /echo?n=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
               b"POST /echo?n=2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"
               b"GET /echo?n=3 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = raw(self.gw.port, req, read_timeout=5)
        resps = parse_responses(data)
        self.assertEqual([s for s, _, _ in resps], [200, 200, 200], data[:2000])
        echoes = [json.loads(b) for _, _, b in resps]
        self.assertEqual([e["query"] for e in echoes], ["n=1", "n=2", "n=3"])
        self.assertEqual(echoes[1]["body_bytes"], 5)
        self.assertEqual(echoes[1]["method"], "POST")

    def test_connection_close_is_honoured(self):
        s = self.gw.connect()
        try:
            s.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            start = time.monotonic()
            status, headers, body, _ = read_response(s, timeout=5)
            self.assertEqual(status, 200)
            s.settimeout(3)
            rest = s.recv(100)
            self.assertEqual(rest, b"", "connection not closed after Connection: close")
            self.assertLess(time.monotonic() - start, 2.5)
        finally:
            s.close()

    def test_http10_client(self):
        start = time.monotonic()
        data = raw(self.gw.port, b"GET /echo?v=10 HTTP/1.0\r\nHost: localhost\r\n\r\n",
                   read_timeout=4)
        elapsed = time.monotonic() - start
        resps = parse_responses(data)
        self.assertEqual(len(resps), 1, data[:500])
        self.assertEqual(resps[0][0], 200)
        self.assertIn(b'"query":"v=10"', resps[0][2])
        self.assertLess(elapsed, 3, "HTTP/1.0 connection without keep-alive was not closed")


    def test_absolute_form_target(self):
        req = (b"GET http://app.test/echo?abs=1 HTTP/1.1\r\nHost: app.test\r\n"
               b"Connection: close\r\n\r\n")
        resps = parse_responses(raw(self.gw.port, req, read_timeout=5))
        self.assertEqual(len(resps), 1)
        self.assertEqual(resps[0][0], 200, resps[0][2][:300])
        echo = json.loads(resps[0][2])
        self.assertEqual(echo["target"], "/echo?abs=1", "origin must get the origin-form")
        self.assertEqual(echo_headers(echo).get("host"), ["app.test"])


class CurlTest(EdgeTestCase):
    """A real client: curl sends Expect: 100-continue for big POST bodies."""

    def test_curl_post_big_body_and_chunked(self):
        with Origin("curl-origin") as o, Gateway(make_config(o)) as gw:
            path = os.path.join(gw.dir, "body.bin")
            data = os.urandom(3 * 1024 * 1024)
            with open(path, "wb") as f:
                f.write(data)
            for extra in ([], ["-H", "Transfer-Encoding: chunked"]):
                with self.subTest(extra=extra):
                    p = curl("-H", "Host: app.test", "--data-binary", "@" + path,
                             "-H", "Content-Type: application/octet-stream", *extra,
                             gw.url + "/echo")
                    self.assertEqual(p.returncode, 0, p.stderr)
                    echo = json.loads(p.stdout)
                    self.assertEqual(echo["body_bytes"], len(data))
                    self.assertEqual(echo["body_sha256"], hashlib.sha256(data).hexdigest())
            p = curl("-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                     "-H", "Host: localhost", gw.url + "/bytes/5000000")
            self.assertEqual(p.stdout.decode(), "200 5000000", p.stderr)


class HostHeaderTest(EdgeTestCase):
    def test_upstream_host_header_replaces_host(self):
        with Origin("hh-origin") as o, Gateway(make_config(
                o, upstream={"host_header": "backend.internal"})) as gw:
            r = gw.get("/echo", host="app.test")
            self.assertEqual(r.status, 200)
            h = echo_headers(r.json())
            self.assertEqual(h.get("host"), ["backend.internal"])
            self.assertEqual(h.get("x-forwarded-host"), ["app.test"])


class TrustedProxyTest(EdgeTestCase):
    def test_trusted_x_forwarded_for_is_appended(self):
        with Origin("xff-origin") as o, \
                Gateway(make_config(o, trusted_proxies=["127.0.0.1/32"])) as gw:
            r = gw.get("/echo", headers={"X-Forwarded-For": "203.0.113.9"})
            self.assertEqual(r.status, 200)
            self.assertEqual(echo_headers(r.json()).get("x-forwarded-for"),
                             ["203.0.113.9, 127.0.0.1"])


class ResponseConnectionHeaderTest(EdgeTestCase):
    """edgegate-origin never sends a Connection header of its choice: a raw origin does."""

    def test_connection_listed_response_headers_not_forwarded(self):
        def handler(head, body):
            return (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                    b"Connection: X-Hop, keep-alive\r\nX-Hop: secret\r\nKeep-Alive: timeout=77\r\n"
                    b"X-End: yes\r\n\r\nok")

        with RawOrigin(handler) as o, Gateway(make_config(o.addr)) as gw:
            r = gw.get("/anything")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, b"ok")
            self.assertEqual(r.header("X-End"), "yes")
            self.assertIsNone(r.header("X-Hop"), "Connection-listed header reached the client")
            self.assertNotEqual(r.header("Keep-Alive"), "timeout=77")
            for v in r.headers.get_all("Connection") or []:
                self.assertNotIn("x-hop", v.lower())


if __name__ == "__main__":
    unittest.main(verbosity=2)
