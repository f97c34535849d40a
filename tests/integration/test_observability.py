"""Observability (issue 7): exact p95 per route, counters per code, upstream outcomes,
redaction in every log line, a stalled access log destination, promtool, /status.json."""

import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import http.client as httpclient

from harness import (EdgeTestCase, Gateway, Origin, closed_port, make_config, parse_metrics,
                     metric_value, request_on, route, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))


def read_lines(path):
    try:
        with open(path) as f:
            return [line for line in f.read().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def quantile(metrics, q, route_name):
    return metric_value(metrics, "edgegate_request_latency_seconds", route=route_name,
                        quantile=q)


class LatencyTest(EdgeTestCase):
    def measure(self, n=60):
        """n sequential /delay/50 requests on one keep-alive connection; returns the metrics
        and the client-side nearest-rank p95 (seconds)."""
        routes = [route("slow", prefix="/delay/"), route("default", prefix="/")]
        with Origin("slow-origin") as o, Gateway(make_config(o, routes=routes)) as gw:
            conn = httpclient.HTTPConnection("127.0.0.1", gw.port, timeout=10)
            seen = []
            try:
                for _ in range(n):
                    t0 = time.monotonic()
                    r = request_on(conn, "GET", "/delay/50", headers={"Host": "localhost"})
                    seen.append(time.monotonic() - t0)
                    self.assertEqual(r.status, 200)
            finally:
                conn.close()
            seen.sort()
            return gw.metrics(), seen[math.ceil(0.95 * n) - 1]

    def test_p95_of_a_50ms_route_is_between_50_and_60ms(self):
        n = 60
        attempts = []
        for _ in range(3):
            m, client_p95 = self.measure(n)
            p50, p95, p99 = (quantile(m, q, "slow") for q in ("0.5", "0.95", "0.99"))
            self.assertIsNotNone(p95, "no edgegate_request_latency_seconds for route slow")
            seen = "p50 %r p95 %r p99 %r, client-side p95 %.4f, earlier attempts %r" % (
                p50, p95, p99, client_p95, attempts)
            self.assertGreaterEqual(p50, 0.050, seen)
            self.assertGreaterEqual(p95, 0.050, seen)
            # The gateway's time is part of the client's: its p95 cannot be larger (but for
            # the sketch's < 1% rounding).
            self.assertLessEqual(p95, client_p95 * 1.01, seen)
            self.assertLessEqual(p50, p95, seen)
            self.assertLessEqual(p95, p99, seen)
            self.assertEqual(metric_value(m, "edgegate_request_latency_seconds_count",
                                          route="slow"), n)
            # The histogram agrees: every request took at least the origin's 50 ms.
            self.assertEqual(metric_value(m, "edgegate_request_duration_seconds_bucket",
                                          route="slow", le="0.05"), 0, seen)
            self.assertEqual(metric_value(m, "edgegate_request_duration_seconds_bucket",
                                          route="slow", le="0.1"), n, seen)
            # A route without traffic has no series yet, not zeros.
            self.assertIsNone(quantile(m, "0.95", "default"))
            attempts.append((p95, client_p95))
            if p95 <= 0.060:
                return
            # Over 60 ms: a loaded machine (the client saw it too) gets another try.
        self.fail("exported p95 over 60 ms in every attempt (exported, client-side): %r" %
                  attempts)


class CountersTest(EdgeTestCase):
    def test_requests_total_matches_what_was_sent_per_code(self):
        dead = "127.0.0.1:%d" % closed_port()
        routes = [route("dead", upstream="dead", prefix="/dead"), route("echo", prefix="/echo"),
                  route("default", prefix="/")]
        with Origin("count-origin") as o, Gateway(make_config(
                o, routes=routes, upstreams={"dead": {"servers": [dead], "retries": 0}})) as gw:
            sent = {("default", "GET", "200"): 7, ("default", "GET", "404"): 3,
                    ("default", "GET", "503"): 2, ("echo", "POST", "200"): 4,
                    ("dead", "GET", "502"): 2}
            for _ in range(7):
                self.assertEqual(gw.get("/status/200").status, 200)
            for _ in range(3):
                self.assertEqual(gw.get("/status/404").status, 404)
            for _ in range(2):
                self.assertEqual(gw.get("/status/503").status, 503)
            for _ in range(4):
                self.assertEqual(gw.request("POST", "/echo", body=b"x").status, 200)
            for _ in range(2):
                self.assertEqual(gw.get("/dead").status, 502)
            for _ in range(5):
                self.assertEqual(gw.get("/", host="nobody.example").status, 421)
            m = gw.metrics_when("edgegate_requests_total", sum(sent.values()) + 5)
            for (rt, method, code), n in sent.items():
                self.assertEqual(metric_value(m, "edgegate_requests_total", site="main", route=rt,
                                              method=method, code=code), n, (rt, method, code))
            self.assertEqual(metric_value(m, "edgegate_requests_total", code="421"), 5)
            total = metric_value(m, "edgegate_requests_total")
            self.assertEqual(total, sum(sent.values()) + 5)
            # Every request that reached an origin is one upstream outcome.
            self.assertEqual(metric_value(m, "edgegate_upstream_requests_total", upstream="app",
                                          outcome="response"), 16)
            self.assertEqual(metric_value(m, "edgegate_upstream_requests_total", upstream="dead",
                                          outcome="connect_error"), 2)
            self.assertEqual(metric_value(m, "edgegate_upstream_requests_total", upstream="app",
                                          outcome="connect_error"), 0)
            self.assertGreaterEqual(metric_value(m, "edgegate_connections_total",
                                                 listener="http"), sum(sent.values()) + 5)
            # The summary counts what the counter counts.
            self.assertEqual(metric_value(m, "edgegate_request_latency_seconds_count",
                                          route="default"), 12)
            self.assertEqual(metric_value(m, "edgegate_route_p95_objective_seconds",
                                          route="default"), 0.3)

    def test_request_metrics_off_counts_nothing_and_a_reload_turns_them_on(self):
        # server.request_metrics: false (the benchmark's bare edgegate) leaves the per-request
        # families empty but keeps the process-wide ones; a reload turns counting back on.
        with Origin("quiet-origin") as o, Gateway(make_config(
                o, server={"request_metrics": False})) as gw:
            config = gw.config
            for _ in range(4):
                self.assertEqual(gw.get("/status/200").status, 200)
            m = gw.metrics()
            self.assertIsNone(metric_value(m, "edgegate_requests_total"))
            self.assertIn(metric_value(m, "edgegate_request_latency_seconds_count"), (None, 0))
            self.assertIsNone(metric_value(m, "edgegate_upstream_requests_total"))
            self.assertGreaterEqual(metric_value(m, "edgegate_connections_total",
                                                 listener="http"), 1)
            self.assertFalse(gw.admin_get("/status.json").json()["request_metrics"])
            config["server"]["request_metrics"] = True
            gw.reload(config)
            gw.wait_reloads(1, result="success")
            for _ in range(3):
                self.assertEqual(gw.get("/status/200").status, 200)
            m = gw.metrics_when("edgegate_requests_total", 3, route="default", code="200")
            self.assertEqual(metric_value(m, "edgegate_requests_total", route="default",
                                          code="200"), 3)
            self.assertEqual(metric_value(m, "edgegate_upstream_requests_total", upstream="app",
                                          outcome="response"), 3)

    def test_promtool_check_metrics(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool is not installed (Debian package prometheus)")
        routes = [route("slow", prefix="/delay/", slo_p95="20ms"), route("default", prefix="/")]
        with Origin("prom-origin") as o, Gateway(make_config(o, routes=routes,
                                                             access_log="@TMP@/a.log")) as gw:
            gw.get("/delay/1")
            gw.get("/status/500")
            gw.get("/", host="nobody.example")
            text = gw.metrics_text()
            p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, "promtool check metrics:\n%s%s\n--- metrics ---\n%s"
                             % (p.stdout.decode(), p.stderr.decode(), text))
            for family in ("edgegate_requests_total", "edgegate_request_duration_seconds",
                           "edgegate_request_latency_seconds", "edgegate_upstream_duration_seconds",
                           "edgegate_connections_active", "edgegate_config_reloads_total",
                           "edgegate_access_log_dropped_total", "edgegate_upstream_requests_total"):
                self.assertIn("# TYPE %s " % family, text)
            self.assertIn("# TYPE edgegate_request_latency_seconds summary", text)


SECRETS = ("auth-secret-91", "session-secret-92", "abc", "Bearer")


class RedactionTest(EdgeTestCase):
    def test_no_secret_in_any_log_line(self):
        routes = [route("echo", prefix="/echo"), route("default", prefix="/")]
        with Origin("redact-origin") as o, Gateway(make_config(
                o, routes=routes, access_log="@TMP@/access.log")) as gw:
            path = os.path.join(gw.dir, "access.log")
            headers = {"Authorization": "Bearer auth-secret-91",
                       "Cookie": "theme=dark; session=session-secret-92",
                       "X-Request-Id": "redaction-test-1"}
            targets = ["/echo?token=abc", "/status/500?token=abc&x=1", "/status/404?a=1&token=abc",
                       "/?TOKEN=abc", "/set?Set-Cookie=session%3Dabc", "/echo?%74oken=abc"]
            for t in targets:
                r = gw.get(t, headers=headers)
                self.assertIn(r.status, (200, 404, 500), t)
            self.assertEqual(gw.get("/?token=abc", headers=headers, host="nobody.example").status,
                             421)
            n = len(targets) + 1
            lines = wait_for(lambda: len(read_lines(path)) >= n and read_lines(path), 5,
                             what="%d access log lines" % n)
            self.assertEqual(len(lines), n)
            for line in lines:
                entry = json.loads(line)
                self.assertEqual(entry["request_id"], "redaction-test-1")
                for secret in SECRETS:
                    self.assertNotIn(secret, line, "a secret in the access log: %s" % line)
                self.assertIn("=REDACTED", entry["path"], line)
            # Nor in the error log (stderr) or anything else the process wrote.
            with open(gw.stderr_path) as f:
                err = f.read()
            with open(gw.stdout_path) as f:
                out = f.read()
            for secret in SECRETS:
                self.assertNotIn(secret, err)
                self.assertNotIn(secret, out)


class StalledLogTest(EdgeTestCase):
    def test_fifo_nobody_reads_does_not_block_workers(self):
        with Origin("fifo-origin") as o:
            d = tempfile.mkdtemp(prefix="edgegate-fifo-")
            fifo = os.path.join(d, "access.fifo")
            os.mkfifo(fifo)
            try:
                with Gateway(make_config(o, access_log=fifo)) as gw:
                    t0 = time.monotonic()
                    for i in range(50):
                        self.assertEqual(gw.get("/echo?i=%d" % i).status, 200)
                    self.assertLess(time.monotonic() - t0, 30)
                    dropped = wait_for(
                        lambda: (gw.metric("edgegate_access_log_dropped_total") or 0) >= 50
                        and gw.metric("edgegate_access_log_dropped_total"), 5,
                        what="edgegate_access_log_dropped_total >= 50")
                    self.assertGreaterEqual(dropped, 50)
                    self.assertEqual(gw.metric("edgegate_access_log_lines_total"), 0)
                    self.assertEqual(gw.metric("edgegate_requests_total", code="200"), 50)
            finally:
                shutil.rmtree(d, ignore_errors=True)

    def test_fifo_whose_reader_stalls_drops_lines_instead_of_waiting(self):
        if shutil.which("wrk") is None:
            self.skipTest("wrk is not installed")
        with Origin("stall-origin") as o:
            d = tempfile.mkdtemp(prefix="edgegate-fifo-")
            fifo = os.path.join(d, "access.fifo")
            os.mkfifo(fifo)
            # A reader that never reads: writes succeed until the pipe's 64 KiB are full,
            # then the writer thread is stuck and the workers' queues fill up.
            reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            try:
                with Gateway(make_config(o, access_log=fifo)) as gw:
                    wait_for(lambda: gw.get("/echo").status == 200, 5, what="a first request")
                    deadline = time.monotonic() + 40
                    dropped = 0
                    while time.monotonic() < deadline and dropped == 0:
                        p = subprocess.run(["wrk", "-t1", "-c8", "-d3s", "-H", "Host: localhost",
                                            gw.url + "/"], capture_output=True, text=True,
                                           timeout=30)
                        self.assertEqual(p.returncode, 0, p.stderr)
                        self.assertNotIn("Non-2xx", p.stdout, p.stdout)
                        self.assertNotIn("Socket errors", p.stdout, p.stdout)
                        dropped = gw.metric("edgegate_access_log_dropped_total") or 0
                    self.assertGreater(dropped, 0, "no line was dropped with a stalled reader")
                    written = gw.metric("edgegate_access_log_lines_total")
                    # Only what fits in the pipe was written.
                    self.assertLess(written, 2000)
                    # The workers still answer at once.
                    t0 = time.monotonic()
                    self.assertEqual(gw.get("/echo").status, 200)
                    self.assertLess(time.monotonic() - t0, 2.0)
                    # Once the reader reads, lines flow again.
                    before = written
                    data = b""
                    end = time.monotonic() + 10
                    while time.monotonic() < end and (
                            gw.metric("edgegate_access_log_lines_total") or 0) <= before:
                        try:
                            data += os.read(reader, 1 << 20)
                        except BlockingIOError:
                            pass
                        gw.get("/echo?after=stall")
                        time.sleep(0.05)
                    self.assertGreater(gw.metric("edgegate_access_log_lines_total"), before)
                    first = data.split(b"\n")[0]
                    self.assertEqual(json.loads(first)["status"], 200)
            finally:
                os.close(reader)
                shutil.rmtree(d, ignore_errors=True)


class ReopenTest(EdgeTestCase):
    def test_sigusr1_reopens_after_rename(self):
        with Origin("rot-origin") as o, Gateway(make_config(o, access_log="@TMP@/a.log")) as gw:
            path = os.path.join(gw.dir, "a.log")
            for i in range(3):
                gw.get("/echo?before=%d" % i)
            wait_for(lambda: len(read_lines(path)) == 3, 5, what="3 lines before rotation")
            os.rename(path, path + ".1")
            gw.signal(signal.SIGUSR1)
            wait_for(lambda: gw.metric("edgegate_access_log_reopens_total") == 1, 5,
                     what="edgegate_access_log_reopens_total == 1")
            for i in range(2):
                gw.get("/echo?after=%d" % i)
            wait_for(lambda: len(read_lines(path)) == 2, 5, what="2 lines in the new file")
            old = read_lines(path + ".1")
            new = read_lines(path)
            self.assertEqual(len(old), 3)
            self.assertTrue(all("before=" in x for x in old))
            self.assertTrue(all("after=" in x for x in new))
            self.assertEqual(gw.metric("edgegate_access_log_dropped_total"), 0)


class StatusJsonTest(EdgeTestCase):
    def test_status_json_and_page(self):
        routes = [route("slow", prefix="/delay/", slo_p95="10ms"),
                  route("fast", prefix="/echo"), route("default", prefix="/")]
        with Origin("status-origin") as o, Gateway(make_config(o, routes=routes)) as gw:
            for _ in range(5):
                gw.get("/delay/20")
            for _ in range(4):
                gw.get("/echo")
            gw.get("/status/502")
            r = gw.admin_get("/status.json")
            self.assertEqual(r.status, 200)
            s = r.json()
            rows = {x["route"]: x for x in s["routes"]}
            self.assertEqual([x["route"] for x in s["routes"] if x["in_config"]],
                             ["slow", "fast", "default"])
            self.assertTrue(rows["slow"]["over_slo"])
            self.assertGreaterEqual(rows["slow"]["p95_ms"], 20)
            self.assertEqual(rows["slow"]["slo_p95_ms"], 10)
            self.assertFalse(rows["fast"]["over_slo"])
            self.assertEqual(rows["fast"]["slo_p95_ms"], 300)
            self.assertEqual(rows["fast"]["requests_window"], 4)
            self.assertGreater(rows["fast"]["requests_per_second"], 0)
            self.assertEqual(rows["default"]["error_ratio"], 1.0)
            self.assertEqual(rows["fast"]["error_ratio"], 0)
            self.assertTrue(s["cache_available"])
            self.assertIsNone(rows["fast"]["cache_hit_ratio"])  # no cache policy
            self.assertTrue(s["upstream_health_available"])
            self.assertFalse(s["certificates"]["available"])
            self.assertEqual(s["upstreams"][0]["servers"][0]["server"], o.addr)
            self.assertIs(s["upstreams"][0]["servers"][0]["healthy"], True)
            page = gw.admin_get("/")
            self.assertEqual(page.status, 200)
            self.assertTrue(page.header("Content-Type").startswith("text/html"))
            html = page.text()
            self.assertIn("status.json", html)
            # Self-contained: nothing is loaded from elsewhere.
            for needle in ("http://", "https://", "<link", "src="):
                self.assertNotIn(needle, html)


if __name__ == "__main__":
    unittest.main(verbosity=2)
