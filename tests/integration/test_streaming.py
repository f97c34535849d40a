"""Streaming with bounded memory: 256 MiB uploads and downloads through the proxy, a
client that stops reading, a dripping origin.

Memory is checked two ways: the gateway's VmRSS (sampled while the transfer runs) and
its gauge edgegate_buffered_bytes_peak (the most bytes one exchange held in its
buffers since start), which ASan cannot inflate. Under ASan the quarantine of freed
memory is capped (ASAN_OPTIONS quarantine_size_mb) for the gateway of this file and
the RSS bound is widened by that much.
"""

import json
import os
import socket
import time
import unittest

from harness import (EdgeTestCase, Gateway, MiB, Origin, RssSampler, is_asan, make_config,
                     parse_metrics, read_response, read_until, wait_for)

BIG = 256 * MiB
PIECE = 1 * MiB
ASAN_QUARANTINE_MB = 16
RSS_GROWTH_LIMIT = (64 + (ASAN_QUARANTINE_MB + 32 if is_asan() else 0)) * MiB
BUFFER_PEAK_LIMIT = 1 * MiB


def pattern(offset, n):
    """Bytes offset..offset+n of every /bytes body: 'a' + k % 26."""
    start = offset % 26
    reps = (start + n) // 26 + 1
    return (bytes(range(97, 123)) * reps)[start:start + n]


def gateway_env():
    if not is_asan():
        return None
    opts = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (opts + ":" if opts else "") +
            "quarantine_size_mb=%d" % ASAN_QUARANTINE_MB}


def buffered_peak(gw):
    samples = [v for (name, _), v in gw.metrics().items()
               if name == "edgegate_buffered_bytes_peak"]
    if not samples:
        raise AssertionError("metric edgegate_buffered_bytes_peak is missing from GET /metrics: "
                             "the memory bound of streaming cannot be checked without it")
    return max(samples)


class StreamingTest(EdgeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = cls.enterClassContext(Origin("stream-origin"))
        cls.gw = cls.enterClassContext(Gateway(
            make_config(cls.origin, limits={"max_body_bytes": "1GiB"}), env=gateway_env()))
        # Warm up pools and buffers so that the baseline RSS includes them.
        s = cls.gw.connect()
        try:
            s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                      % (8 * MiB))
            while s.recv(1 << 20):
                pass
        finally:
            s.close()

    def setUp(self):
        super().setUp()
        self.baseline_kib = self.gw.rss_kib()

    def assertMemoryBounded(self, sampler, what):
        growth = sampler.peak_kib * 1024 - self.baseline_kib * 1024
        self.assertGreater(sampler.samples, 0)
        self.assertLessEqual(
            growth, RSS_GROWTH_LIMIT,
            "%s: gateway RSS grew by %.1f MiB (baseline %.1f MiB, peak %.1f MiB), limit %d MiB"
            % (what, growth / MiB, self.baseline_kib / 1024, sampler.peak_kib / 1024,
               RSS_GROWTH_LIMIT // MiB))
        peak = buffered_peak(self.gw)
        self.assertLess(peak, BUFFER_PEAK_LIMIT,
                        "%s: edgegate_buffered_bytes_peak is %d bytes" % (what, peak))

    # ------------------------------------------------------------ uploads

    def upload(self, chunked):
        piece = os.urandom(PIECE)
        s = self.gw.connect(timeout=15)
        sent = 0
        try:
            if chunked:
                s.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n")
                framed = b"%x\r\n" % PIECE + piece + b"\r\n"
                for _ in range(BIG // PIECE):
                    s.sendall(framed)
                    sent += PIECE
                s.sendall(b"0\r\n\r\n")
            else:
                s.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
                          % BIG)
                for _ in range(BIG // PIECE):
                    s.sendall(piece)
                    sent += PIECE
            status, _, body, _ = read_response(s, timeout=20)
        except socket.timeout:
            self.fail("upload stalled: the gateway took nothing for 15 s after %d of %d bytes"
                      % (sent, BIG))
        finally:
            s.close()
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(json.loads(body)["body_bytes"], BIG)

    def test_upload_256mib_content_length(self):
        with RssSampler(self.gw.pid) as sampler:
            self.upload(chunked=False)
        self.assertMemoryBounded(sampler, "Content-Length upload of 256 MiB")

    def test_upload_256mib_chunked(self):
        with RssSampler(self.gw.pid) as sampler:
            self.upload(chunked=True)
        self.assertMemoryBounded(sampler, "chunked upload of 256 MiB")

    # ------------------------------------------------------------ downloads

    def test_download_256mib(self):
        with RssSampler(self.gw.pid) as sampler:
            s = self.gw.connect(timeout=15)
            try:
                s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % BIG)
                data = read_until(s, b"\r\n\r\n", timeout=10)
                head, _, first = data.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:200])
                self.assertIn(b"\r\ncontent-length: %d" % BIG, head.lower(),
                              "Content-Length of the origin not kept")
                self.assertEqual(first, pattern(0, len(first)))
                got = len(first)
                buf = bytearray(PIECE)
                view = memoryview(buf)
                s.settimeout(10)  # no byte for 10 s: a stall, not slowness
                while got < BIG:
                    try:
                        n = s.recv_into(view)
                    except socket.timeout:
                        self.fail("download stalled: nothing for 10 s after %d of %d bytes"
                                  % (got, BIG))
                    if n == 0:
                        break
                    # Spot checks: the first and last byte of every read are where they belong.
                    if buf[0] != 97 + got % 26 or buf[n - 1] != 97 + (got + n - 1) % 26:
                        self.fail("wrong byte near offset %d" % got)
                    got += n
            finally:
                s.close()
        self.assertEqual(got, BIG)
        self.assertMemoryBounded(sampler, "download of 256 MiB")

    def test_download_chunked_64mib(self):
        size = 64 * MiB
        s = self.gw.connect(timeout=15)
        try:
            s.sendall(b"GET /bytes/%d?chunked=1 HTTP/1.1\r\nHost: localhost\r\n"
                      b"Connection: close\r\n\r\n" % size)
            status, headers, body, _ = read_response(s, timeout=10)
        finally:
            s.close()
        self.assertEqual(status, 200)
        self.assertEqual(len(body), size)
        self.assertEqual(body[:1000], pattern(0, 1000))
        self.assertEqual(body[-1000:], pattern(size - 1000, 1000))

    # ------------------------------------------------------------ pacing

    def test_dripping_origin_is_streamed(self):
        # 5 bytes, one every 300 ms: the first must reach the client long before the last.
        s = self.gw.connect()
        try:
            start = time.monotonic()
            s.sendall(b"GET /drip?bytes=5&interval_ms=300 HTTP/1.1\r\nHost: localhost\r\n"
                      b"Connection: close\r\n\r\n")
            data = read_until(s, b"\r\n\r\n", timeout=5)
            while len(data.partition(b"\r\n\r\n")[2]) < 1:
                d = s.recv(100)
                if not d:
                    break
                data += d
            first = time.monotonic() - start
            while True:
                d = s.recv(100)
                if not d:
                    break
                data += d
            total = time.monotonic() - start
        finally:
            s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
        self.assertEqual(data.partition(b"\r\n\r\n")[2], b"abcde")
        self.assertLess(first, 1.0, "first body byte after %.2fs: response buffered" % first)
        self.assertGreaterEqual(total, 1.2)


class SlowReaderTest(EdgeTestCase):
    def test_client_that_stops_reading(self):
        size = 1024 * MiB
        with Origin("slow-reader-origin") as origin, Gateway(
                make_config(origin), env=gateway_env()) as gw:
            baseline = gw.rss_kib()
            s = gw.connect()
            try:
                s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % size)
                with RssSampler(gw.pid) as sampler:
                    time.sleep(3)  # read nothing
                growth = (sampler.peak_kib - baseline) * 1024
                self.assertLessEqual(growth, RSS_GROWTH_LIMIT,
                                     "RSS grew by %.1f MiB while the client did not read"
                                     % (growth / MiB))
                peak = buffered_peak(gw)
                self.assertLess(peak, BUFFER_PEAK_LIMIT,
                                "edgegate_buffered_bytes_peak is %d bytes" % peak)
                # The origin is held back (its connection open, mid-body): one connection
                # of the gateway plus the one of this /stats request.
                self.assertGreaterEqual(origin.stats()["connections_open"], 2,
                                        "the origin connection of the stalled download is gone")
                # The client reads a little: the stream is alive, not aborted.
                s.settimeout(5)
                got = s.recv(65536)
                self.assertTrue(got.startswith(b"HTTP/1.1 200"), got[:200])
            finally:
                s.close()
            # The client is gone: the gateway must drop the origin connection too (it is
            # mid-body and cannot be reused).
            wait_for(lambda: origin.stats()["connections_open"] == 1, 5,
                     what="the origin connection to close after the client went away")


if __name__ == "__main__":
    unittest.main(verbosity=2)
