"""HTTP/2 on the client side: h2 by ALPN (curl --http2, nghttp), h2c with prior knowledge,
100 concurrent streams on one connection, request and response bodies larger than the
flow-control window, a stream reset mid-body freeing its origin connection, a rapid-reset
flood (GOAWAY, bounded memory, other clients still served), streams beyond
SETTINGS_MAX_CONCURRENT_STREAMS refused one by one, GOAWAY on SIGTERM, and malformed HTTP/2 (bad preface, bad pseudo-headers, Host against :authority).

Raw frames are written by the small client below (HPACK literals without Huffman coding):
tests must be able to send what no well-behaved client library would."""

import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import unittest

from harness import (MiB, EdgeTestCase, Gateway, Origin, make_config, rss_kib, wait_for)
from test_tls import Pki

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
PROTOCOL_ERROR, REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM = 0x1, 0x7, 0x8, 0xb

PKI = None


def setUpModule():
    global PKI
    PKI = Pki()


def tearDownModule():
    PKI.cleanup()


def have(tool):
    return shutil.which(tool) is not None


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id) + payload


def hpack(headers):
    """Literal header fields without indexing, no Huffman coding (RFC 7541 §6.2.2)."""
    out = b""
    for name, value in headers:
        out += b"\x00"
        for s in (name.encode(), value.encode()):
            assert len(s) < 127
            out += bytes([len(s)]) + s
    return out


def request_headers(path, authority="localhost", method="GET", extra=()):
    return hpack([(":method", method), (":scheme", "http"), (":authority", authority),
                  (":path", path)] + list(extra))


class RawH2:
    """An HTTP/2 client connection that writes raw frames and reads them back."""

    def __init__(self, port, tls_ctx=None, server_hostname="a.test", window=None):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls_ctx:
            sock = tls_ctx.wrap_socket(sock, server_hostname=server_hostname)
        self.sock = sock
        self.buf = b""
        settings = b""
        if window is not None:
            settings = struct.pack(">HI", 4, window)  # SETTINGS_INITIAL_WINDOW_SIZE
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0, settings))

    def send(self, data):
        self.sock.sendall(data)

    def read_frame(self, timeout=10.0):
        """(type, flags, stream, payload), or None at EOF."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + length:
                    ftype, flags = self.buf[3], self.buf[4]
                    sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
                    payload = self.buf[9:9 + length]
                    self.buf = self.buf[9 + length:]
                    if ftype == SETTINGS and not flags & ACK:
                        try:
                            self.send(frame(SETTINGS, ACK, 0))
                        except OSError:
                            pass  # closed by the server: the frames read so far still count
                    return ftype, flags, sid, payload
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def frames_until(self, predicate, timeout=10.0):
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            f = self.read_frame(max(0.1, deadline - time.monotonic()))
            if f is None:
                return seen, None
            seen.append(f)
            if predicate(f):
                return seen, f
        return seen, None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def curl_h2(*args, timeout=60):
    r = subprocess.run(["curl", "-sS", "--max-time", str(timeout)] + list(args),
                       capture_output=True, timeout=timeout + 10)
    return r


def pattern_sha256(n):
    h = hashlib.sha256()
    block = bytes(ord("a") + i % 26 for i in range(26 * 2520))
    while n > 0:
        take = min(n, len(block))
        h.update(block[:take])
        n -= take
    return h.hexdigest()


def origin_open(origin):
    # /stats counts its own connection.
    return origin.stats()["connections_open"] - 1


class Http2Test(EdgeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.cert = PKI.leaf("h2", ["a.test", "localhost"])
        cls.origin = Origin().start()

    @classmethod
    def tearDownClass(cls):
        cls.origin.stop()

    def config(self, tls=True, h2c=False, upstream=None, **kw):
        cfg = make_config(self.origin, hosts=("a.test", "localhost", "127.0.0.1"),
                          upstream=upstream, **kw)
        listener = cfg["listeners"][0]
        if tls:
            listener["name"] = "https"
            listener["tls"] = {"certificates": [dict(self.cert)]}
        if h2c:
            listener["http2"] = True
        return cfg

    def tls_url(self, gw, path):
        return "https://a.test:%d%s" % (gw.port, path)

    def resolve(self, gw):
        return ["--cacert", PKI.ca, "--resolve", "a.test:%d:127.0.0.1" % gw.port]

    def tls_ctx(self, alpn=("h2",)):
        ctx = ssl.create_default_context(cafile=PKI.ca)
        ctx.set_alpn_protocols(list(alpn))
        return ctx

    def test_curl_h2_by_alpn_and_http11_still_offered(self):
        with Gateway(self.config()) as gw:
            r = curl_h2("--http2", *self.resolve(gw), "-w", "\n%{http_version} %{http_code}",
                        self.tls_url(gw, "/echo/x?y=1"))
            self.assertEqual(r.returncode, 0, r.stderr)
            body, _, tail = r.stdout.decode().rpartition("\n")
            self.assertEqual(tail, "2 200")
            echo = json.loads(body)
            self.assertIn("/echo/x", json.dumps(echo))
            self.assertIn("a.test", json.dumps(echo))
            r = curl_h2("--http1.1", *self.resolve(gw), "-o", "/dev/null", "-w",
                        "%{http_version} %{http_code}", self.tls_url(gw, "/"))
            self.assertEqual(r.stdout.decode(), "1.1 200", r.stderr)
            # The listener's alpn list decides: http/1.1 only means no h2.
            cfg = self.config()
            cfg["listeners"][0]["tls"]["alpn"] = ["http/1.1"]
            gw.reload(cfg)
        with Gateway(cfg) as gw:
            r = curl_h2("--http2", *self.resolve(gw), "-o", "/dev/null", "-w",
                        "%{http_version} %{http_code}", self.tls_url(gw, "/"))
            self.assertEqual(r.stdout.decode(), "1.1 200", r.stderr)

    def test_h2c_prior_knowledge_and_http11_on_the_same_listener(self):
        with Gateway(self.config(tls=False, h2c=True)) as gw:
            r = curl_h2("--http2-prior-knowledge", "-o", "/dev/null", "-w",
                        "%{http_version} %{http_code}", "http://localhost:%d/" % gw.port)
            self.assertEqual(r.stdout.decode(), "2 200", r.stderr)
            r = curl_h2("-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                        "http://localhost:%d/" % gw.port)
            self.assertEqual(r.stdout.decode(), "1.1 200", r.stderr)
        # Without `http2: true` the preface is not HTTP/1.1: refused.
        with Gateway(self.config(tls=False)) as gw:
            r = curl_h2("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
                        "http://localhost:%d/" % gw.port)
            self.assertNotEqual(r.stdout.decode(), "200")

    @unittest.skipUnless(have("nghttp"), "nghttp (Debian package nghttp2-client) is not installed")
    def test_nghttp_fetch(self):
        with Gateway(self.config()) as gw:
            r = subprocess.run(["nghttp", "-s", "-H", ":authority: a.test",
                                "https://127.0.0.1:%d/bytes/100000" % gw.port],
                               capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"100000", r.stdout)  # the statistics line shows the body size
        with Gateway(self.config(tls=False, h2c=True)) as gw:
            r = subprocess.run(["nghttp", "-v", "http://127.0.0.1:%d/healthz" % gw.port],
                               capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b":status: 200", r.stdout)

    @unittest.skipUnless(have("h2load"), "h2load (Debian package nghttp2-client) is not installed")
    def test_100_concurrent_streams_on_one_connection(self):
        with Gateway(self.config()) as gw:
            r = subprocess.run(["h2load", "-n100", "-c1", "-m100", "-H", ":authority: a.test",
                                "https://127.0.0.1:%d/delay/200" % gw.port],
                               capture_output=True, timeout=60)
            out = r.stdout.decode()
            self.assertEqual(r.returncode, 0, out + r.stderr.decode())
            self.assertIn("100 succeeded", out, out)
            self.assertIn("100 2xx", out, out)
            # All at once: 100 delays of 200 ms take far less than 100 x 200 ms.
            self.assertIn("Application protocol: h2", out)

    def test_streams_beyond_the_limit_are_refused_not_the_connection(self):
        cfg = self.config(tls=False, h2c=True)
        cfg["listeners"][0]["http2_max_concurrent_streams"] = 2
        with Gateway(cfg) as gw:
            c = RawH2(gw.port)
            try:
                seen, f = c.frames_until(lambda f: f[0] == SETTINGS and not f[1] & ACK)
                self.assertIsNotNone(f, seen)
                entries = dict(struct.unpack(">HI", f[3][i:i + 6]) for i in range(0, len(f[3]), 6))
                self.assertEqual(entries.get(3), 2, entries)  # SETTINGS_MAX_CONCURRENT_STREAMS
                # read_frame acknowledged it before these HEADERS: the limit is in force
                # (RFC 9113 §5.1.2), and a third stream is a stream error, not a connection one.
                for sid in (1, 3, 5):
                    c.send(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                                 request_headers("/delay/300")))
                seen, f = c.frames_until(lambda f: f[0] in (RST_STREAM, GOAWAY))
                self.assertIsNotNone(f, seen)
                self.assertEqual((f[0], f[2], struct.unpack(">I", f[3][:4])[0]),
                                 (RST_STREAM, 5, REFUSED_STREAM), f)
                # Streams 1 and 3 complete, in either order.
                ended = set()

                def both_ended(f):
                    if f[0] in (HEADERS, DATA) and f[1] & END_STREAM:
                        ended.add(f[2])
                    return {1, 3} <= ended
                for f in seen:
                    both_ended(f)
                if not {1, 3} <= ended:
                    more, f = c.frames_until(both_ended)
                    self.assertIsNotNone(f, seen + more)
                    seen += more
                self.assertFalse(any(f[0] == GOAWAY for f in seen), seen)
                # Room again: the next stream is served.
                c.send(frame(HEADERS, END_STREAM | END_HEADERS, 7, request_headers("/healthz")))
                more, f = c.frames_until(lambda f: f[2] == 7 and f[0] == HEADERS)
                self.assertIsNotNone(f, more)
                self.assertEqual(f[3][:1], b"\x88", f)  # :status 200
            finally:
                c.close()
            # A client that keeps opening streams over the limit is cut off: by nghttp2 once
            # far over it, or by the refusal rate, whichever comes first.
            c = RawH2(gw.port)
            try:
                c.frames_until(lambda f: f[0] == SETTINGS and not f[1] & ACK)
                c.send(b"".join(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                                      request_headers("/delay/2000"))
                                for sid in range(1, 2 * 300, 2)))
                seen, f = c.frames_until(lambda f: f[0] == GOAWAY)
                self.assertIsNotNone(f, seen[-5:])
                self.assertIn(struct.unpack(">I", f[3][4:8])[0],
                              (PROTOCOL_ERROR, ENHANCE_YOUR_CALM), f)
            finally:
                c.close()
            self.assertTrue(gw.alive())

    def test_bodies_larger_than_the_window_stream_both_ways(self):
        size = 5 * MiB
        with Gateway(self.config()) as gw:
            up = os.urandom(size)
            r = subprocess.run(["curl", "-sS", "--http2", *self.resolve(gw), "--data-binary",
                                "@-", "-H", "Content-Type: application/octet-stream",
                                self.tls_url(gw, "/upload?sha256=1")],
                               input=up, capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            got = json.loads(r.stdout)
            self.assertEqual(got["body_bytes"], size)
            self.assertEqual(got["body_sha256"], hashlib.sha256(up).hexdigest())
            r = curl_h2("--http2", *self.resolve(gw), self.tls_url(gw, "/bytes/%d" % size))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(r.stdout), size)
            self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), pattern_sha256(size))
            # Chunked from the origin, and an upload without Content-Length (chunked on).
            r = curl_h2("--http2", *self.resolve(gw),
                        self.tls_url(gw, "/bytes/%d?chunked=1" % size))
            self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), pattern_sha256(size))
        with Gateway(self.config(tls=False, h2c=True)) as gw:
            # A client window of 16 KiB: the response waits on WINDOW_UPDATEs.
            c = RawH2(gw.port, window=16384)
            try:
                c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                             request_headers("/bytes/%d" % (1 * MiB))))
                got = 0
                while True:
                    f = c.read_frame()
                    self.assertIsNotNone(f, "connection closed after %d bytes" % got)
                    ftype, flags, sid, payload = f
                    if ftype == DATA and sid == 1:
                        got += len(payload)
                        if payload:
                            c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", len(payload))) +
                                   frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", len(payload))))
                        if flags & END_STREAM:
                            break
                    self.assertNotIn(ftype, (RST_STREAM, GOAWAY), f)
                self.assertEqual(got, 1 * MiB)
            finally:
                c.close()

    def test_reset_mid_body_frees_the_origin_connection(self):
        with Gateway(self.config(tls=False, h2c=True, upstream={"keepalive": 8})) as gw:
            base = origin_open(self.origin)
            c = RawH2(gw.port)
            try:
                c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1,
                             request_headers("/bytes/%d" % (1024 * MiB))))
                seen, f = c.frames_until(lambda f: f[0] == DATA and f[2] == 1)
                self.assertIsNotNone(f, seen)
                wait_for(lambda: origin_open(self.origin) == base + 1, 5,
                         what="the origin connection of the stream")
                c.send(frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)))
                # Mid-body, the origin connection cannot go back to the pool: it is closed.
                wait_for(lambda: origin_open(self.origin) == base, 5,
                         what="the origin connection to close after RST_STREAM")
                # The client connection itself carries on (given connection window back:
                # stream 1 used it up).
                c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 24)))
                c.send(frame(HEADERS, END_STREAM | END_HEADERS, 3, request_headers("/healthz")))
                seen, f = c.frames_until(lambda f: f[2] == 3 and f[1] & END_STREAM)
                self.assertIsNotNone(f, seen)
            finally:
                c.close()

    def test_rapid_reset_flood(self):
        with Gateway(self.config(tls=False, h2c=True)) as gw:
            for _ in range(3):  # warm up the allocator and the pools
                curl_h2("--http2-prior-knowledge", "-o", "/dev/null",
                        "http://localhost:%d/" % gw.port)
            rss_before = rss_kib(gw.pid)
            stop = threading.Event()
            results = []

            def other_client():
                while not stop.is_set():
                    t = time.monotonic()
                    r = curl_h2("--http2-prior-knowledge", "-o", "/dev/null", "-w",
                                "%{http_code}", "http://localhost:%d/healthz" % gw.port,
                                timeout=10)
                    results.append((r.stdout.decode(), time.monotonic() - t))

            th = threading.Thread(target=other_client)
            th.start()
            goaways = 0
            try:
                for conn in range(5):
                    c = RawH2(gw.port)
                    try:
                        batch = b""
                        sid = 1
                        for i in range(3000):
                            batch += frame(HEADERS, END_STREAM | END_HEADERS, sid,
                                           request_headers("/delay/1000")) + \
                                frame(RST_STREAM, 0, sid, struct.pack(">I", CANCEL))
                            sid += 2
                        try:
                            c.send(batch)
                        except (BrokenPipeError, ConnectionResetError):
                            pass
                        seen, f = c.frames_until(lambda f: f[0] == GOAWAY, timeout=10)
                        if f is not None:
                            goaways += 1
                            code = struct.unpack(">I", f[3][4:8])[0]
                            self.assertEqual(code, ENHANCE_YOUR_CALM, f)
                    finally:
                        c.close()
            finally:
                stop.set()
                th.join(30)
            self.assertEqual(goaways, 5)
            rss_after = rss_kib(gw.pid)
            self.assertLess(rss_after - rss_before, 64 * 1024,
                            "RSS grew from %d to %d KiB" % (rss_before, rss_after))
            self.assertTrue(results, "the other client made no request")
            self.assertTrue(all(code == "200" for code, _ in results), results)
            self.assertLess(max(t for _, t in results), 5, results)
            self.assertTrue(gw.alive())

    def test_control_frame_floods_get_goaway(self):
        with Gateway(self.config(tls=False, h2c=True)) as gw:
            for name, flood in (("PING", frame(PING, 0, 0, b"12345678")),
                                ("SETTINGS", frame(SETTINGS, 0, 0)),
                                ("empty DATA", None)):
                c = RawH2(gw.port)
                try:
                    if flood is None:
                        c.send(frame(HEADERS, END_HEADERS, 1, request_headers(
                            "/upload", method="POST")))
                        flood = frame(DATA, 0, 1)
                    try:
                        c.send(flood * 5000)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    seen, f = c.frames_until(lambda f: f[0] == GOAWAY, timeout=10)
                    self.assertIsNotNone(f, "%s flood: no GOAWAY" % name)
                    code = struct.unpack(">I", f[3][4:8])[0]
                    self.assertEqual(code, ENHANCE_YOUR_CALM, name)
                finally:
                    c.close()
            self.assertTrue(gw.alive())

    def test_goaway_on_sigterm_lets_streams_finish(self):
        with Gateway(self.config(tls=False, h2c=True, drain_timeout="5s")) as gw:
            c = RawH2(gw.port)
            try:
                c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_headers("/delay/700")))
                c.frames_until(lambda f: f[0] == SETTINGS and f[1] & ACK, timeout=5)
                time.sleep(0.1)
                gw.signal(signal.SIGTERM)
                seen, goaway = c.frames_until(lambda f: f[0] == GOAWAY, timeout=5)
                self.assertIsNotNone(goaway, seen)
                last_stream, code = struct.unpack(">II", goaway[3][:8])
                self.assertEqual((last_stream & 0x7FFFFFFF, code), (1, 0))
                # Stream 1 still completes.
                seen2, end = c.frames_until(lambda f: f[2] == 1 and f[1] & END_STREAM, timeout=5)
                self.assertIsNotNone(end, seen + seen2)
                self.assertTrue(any(f[0] == HEADERS and f[2] == 1 and f[3][:1] == b"\x88"
                                    for f in seen + seen2), seen + seen2)  # :status 200
            finally:
                c.close()
            self.assertEqual(gw.wait_exit(10), 0)

    def test_malformed_http2(self):
        with Gateway(self.config()) as gw:
            # ALPN h2, then no preface: closed (after a GOAWAY if any), no answer.
            s = self.tls_ctx().wrap_socket(socket.create_connection(("127.0.0.1", gw.port),
                                                                    timeout=5),
                                           server_hostname="a.test")
            s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, ssl.SSLError):
                pass
            s.close()
            self.assertNotIn(b"HTTP/1.1 200", data)
            # Stream errors: the connection carries on with the next stream.
            c = RawH2(gw.port, tls_ctx=self.tls_ctx())
            try:
                bad = [
                    hpack([(":method", "GET"), (":scheme", "https"), (":authority", "a.test")]),
                    hpack([(":method", "GET"), (":scheme", "https"), (":path", "/"),
                           (":authority", "a.test"), (":foo", "x")]),
                    hpack([(":method", "GET"), (":scheme", "https"), (":path", "/"),
                           (":authority", "a.test"), ("Upper", "x")]),
                    hpack([(":method", "GET"), (":scheme", "https"), (":path", "/"),
                           (":authority", "a.test"), ("connection", "close")]),
                ]
                sid = 1
                for block in bad:
                    c.send(frame(HEADERS, END_STREAM | END_HEADERS, sid, block))
                    seen, f = c.frames_until(lambda f: f[2] == sid and f[0] == RST_STREAM)
                    self.assertIsNotNone(f, (sid, seen))
                    sid += 2
                # Host that disagrees with :authority: 400 (static table index 12).
                c.send(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                             request_headers("/", authority="a.test", extra=[("host", "b.test")])))
                seen, f = c.frames_until(lambda f: f[2] == sid and f[0] == HEADERS)
                self.assertIsNotNone(f, seen)
                self.assertEqual(f[3][:1], b"\x8c", f)
                sid += 2
                c.send(frame(HEADERS, END_STREAM | END_HEADERS, sid,
                             request_headers("/healthz", authority="a.test")))
                seen, f = c.frames_until(lambda f: f[2] == sid and f[0] == HEADERS)
                self.assertIsNotNone(f, seen)
                self.assertEqual(f[3][:1], b"\x88", f)
            finally:
                c.close()
            self.assertTrue(gw.alive())


if __name__ == "__main__":
    unittest.main(verbosity=2)
