"""server.limits: header_timeout, idle_timeout, max_connections_per_ip; Expect: 100-continue."""

import json
import socket
import time
import unittest

from harness import (EdgeTestCase, Gateway, Origin, make_config, parse_responses, read_response,
                     read_until, wait_for)


def wait_closed(sock, timeout):
    """Reads until EOF/RST or timeout. Returns (seconds waited, bytes read, closed?)."""
    start = time.monotonic()
    sock.settimeout(timeout)
    data = b""
    closed = False
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                closed = True
                break
            data += d
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    return time.monotonic() - start, data, closed


class TimeoutsTest(EdgeTestCase):
    HEADER_TIMEOUT = 1.0
    IDLE_TIMEOUT = 2.0  # differs from header_timeout so that each is seen on its own

    @classmethod
    def setUpClass(cls):
        cls.origin = cls.enterClassContext(Origin("limits-origin"))
        cls.gw = cls.enterClassContext(Gateway(make_config(
            cls.origin, limits={"header_timeout": "1s", "idle_timeout": "2s"})))

    def assertTimedOut(self, elapsed, data, closed, low, high):
        self.assertTrue(closed, "connection still open after %.1fs" % elapsed)
        self.assertGreaterEqual(elapsed, low, "closed too early (%.2fs)" % elapsed)
        self.assertLessEqual(elapsed, high, "closed too late (%.2fs)" % elapsed)
        if data:
            resps = parse_responses(data)
            self.assertTrue(resps, data[:200])
            self.assertEqual(resps[0][0], 408, data[:300])

    def test_partial_head_gets_408_or_close(self):
        s = self.gw.connect()
        try:
            s.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n")  # no blank line
            elapsed, data, closed = wait_closed(s, 5)
        finally:
            s.close()
        self.assertTimedOut(elapsed, data, closed, self.HEADER_TIMEOUT - 0.2,
                            self.HEADER_TIMEOUT + 1.0)

    def test_slowloris_head_is_bounded_by_header_timeout(self):
        # A byte every 200 ms keeps the connection busy but the whole head must arrive
        # within header_timeout.
        s = self.gw.connect()
        head = b"GET /echo HTTP/1.1\r\nHost: localhost\r\n" + b"X-Slow: " + b"s" * 100
        start = time.monotonic()
        closed = False
        data = b""
        try:
            s.settimeout(0.2)
            for b in head:
                try:
                    s.sendall(bytes([b]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                try:
                    d = s.recv(65536)
                    data += d
                    if not d:
                        closed = True
                        break
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    closed = True
                    break
                if time.monotonic() - start > 5:
                    break
            if not closed:
                _, more, closed = wait_closed(s, 1)
                data += more
        finally:
            s.close()
        elapsed = time.monotonic() - start
        self.assertTimedOut(elapsed, data, closed, self.HEADER_TIMEOUT - 0.2,
                            self.HEADER_TIMEOUT + 1.2)

    def test_idle_keepalive_connection_closed_after_idle_timeout(self):
        s = self.gw.connect()
        try:
            s.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status, _, _, _ = read_response(s, timeout=5)
            self.assertEqual(status, 200)
            elapsed, data, closed = wait_closed(s, 6)
        finally:
            s.close()
        self.assertTrue(closed, "idle keep-alive connection still open after 6 s")
        self.assertEqual(data, b"", "unexpected bytes on an idle connection")
        self.assertGreaterEqual(elapsed, self.IDLE_TIMEOUT - 0.3,
                                "idle connection closed after %.2fs: idle_timeout is %.0fs"
                                % (elapsed, self.IDLE_TIMEOUT))
        self.assertLessEqual(elapsed, self.IDLE_TIMEOUT + 1.0)

    def test_active_keepalive_connection_survives(self):
        # Requests spaced by less than idle_timeout keep one connection alive.
        s = self.gw.connect()
        try:
            for i in range(3):
                s.sendall(b"GET /echo?i=%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i)
                status, _, body, _ = read_response(s, timeout=5)
                self.assertEqual(status, 200)
                self.assertEqual(json.loads(body)["query"], "i=%d" % i)
                time.sleep(0.7)
        finally:
            s.close()

    def test_slow_origin_is_not_a_header_timeout(self):
        # header_timeout is about the client's head, not about the origin's answer.
        r = self.gw.get("/delay/1500", timeout=10)
        self.assertEqual(r.status, 200, r)


class ConnectionsPerIpTest(EdgeTestCase):
    LIMIT = 5

    def test_sixth_connection_refused(self):
        with Origin("perip-origin") as o, Gateway(make_config(
                o, limits={"max_connections_per_ip": self.LIMIT})) as gw:
            held = []
            try:
                for i in range(self.LIMIT):
                    s = gw.connect()
                    held.append(s)
                    s.sendall(b"GET /echo?c=%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i)
                    status, _, _, _ = read_response(s, timeout=5)
                    self.assertEqual(status, 200, "connection %d of %d" % (i + 1, self.LIMIT))
                start = time.monotonic()
                refused = False
                data = b""
                try:
                    s = gw.connect()
                    try:
                        s.sendall(b"GET /echo?c=extra HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        _, data, closed = wait_closed(s, 3)
                        refused = closed
                    except (BrokenPipeError, ConnectionResetError):
                        refused = True
                    finally:
                        s.close()
                except ConnectionRefusedError:
                    refused = True
                elapsed = time.monotonic() - start
                resps = parse_responses(data) if data else []
                self.assertFalse(resps and resps[0][0] == 200,
                                 "connection %d from one IP was served (limit %d)"
                                 % (self.LIMIT + 1, self.LIMIT))
                if resps:
                    self.assertIn(resps[0][0], (429, 503), data[:300])
                self.assertTrue(refused, "connection %d was neither refused nor closed"
                                % (self.LIMIT + 1))
                self.assertLess(elapsed, 2.0, "refusal took %.1fs" % elapsed)

                # One held connection goes away: a new one is accepted again.
                held.pop().close()

                def served():
                    r = gw.get("/echo?c=again", timeout=3)
                    return r.status == 200
                wait_for(served, 3, interval=0.1, what="a connection after one was closed")
            finally:
                for s in held:
                    s.close()


class ExpectContinueTest(EdgeTestCase):
    def test_expect_100_continue(self):
        with Origin("expect-origin") as o, Gateway(make_config(o)) as gw:
            s = gw.connect()
            try:
                body = b"0123456789"
                s.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(body))
                interim = read_until(s, b"\r\n\r\n", timeout=3)
                self.assertTrue(interim.startswith(b"HTTP/1.1 100"),
                                "expected 100 Continue before the body, got %r" % interim[:200])
                rest = interim.split(b"\r\n\r\n", 1)[1]
                s.sendall(body)
                s.settimeout(5)
                data = rest
                while b'"server"' not in data:
                    d = s.recv(65536)
                    if not d:
                        break
                    data += d
                    resps = [r for r in parse_responses(data) if r[0] >= 200]
                    if resps and len(resps[0][2]) >= int(resps[0][1].get("content-length", 0)):
                        break
            finally:
                s.close()
            finals = [r for r in parse_responses(data) if r[0] >= 200]
            self.assertTrue(finals, data[:500])
            self.assertEqual(finals[0][0], 200, data[:500])
            echo = json.loads(finals[0][2])
            self.assertEqual(echo["body_bytes"], len(body))


if __name__ == "__main__":
    unittest.main(verbosity=2)
