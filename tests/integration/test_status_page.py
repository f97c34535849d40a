"""The admin status page (GET /) in a real browser: headless Chromium loads it, its script
fetches /status.json, and the rendered table shows every route, with the one over its p95
objective marked; with a TLS listener, health checks, a cache and a rate limit the page shows
the certificate's expiry (red within 14 days), a dead server as UNHEALTHY, the cache hit
ratio and the refusals. A screenshot of that page is saved next to the binary (the build
directory) as status-page.png, for CI to keep as an artifact and for docs/observability.md."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import (EDGEGATE_BIN, EdgeTestCase, Gateway, Origin, closed_port, curl, free_port,
                     make_config, route, wait_for)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(chromium, args, timeout=60):
    profile = tempfile.mkdtemp(prefix="edgegate-chromium-")
    try:
        return subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--user-data-dir=" + profile, *args],
            capture_output=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class StatusPageTest(EdgeTestCase):
    def test_page_renders_routes_in_chromium(self):
        chromium = find_chromium()
        if not chromium:
            self.skipTest("chromium is not installed (Debian package chromium)")
        routes = [route("login", path="/delay/30", slo_p95="10ms"),
                  route("assets", prefix="/echo"), route("default", prefix="/")]
        with Origin("page-origin") as o, Gateway(make_config(o, routes=routes)) as gw:
            for _ in range(5):
                self.assertEqual(gw.get("/delay/30").status, 200)
            for _ in range(20):
                self.assertEqual(gw.get("/echo").status, 200)
            self.assertEqual(gw.get("/status/503").status, 503)
            url = "http://%s/" % gw.admin
            # --virtual-time-budget lets the page's fetch of status.json finish before the DOM
            # is dumped.
            p = run_chromium(chromium, ["--virtual-time-budget=5000", "--dump-dom", url])
            self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:])
            dom = p.stdout.decode(errors="replace")
            rows = re.findall(r'<tr[^>]*data-route="([^"]+)"[^>]*>', dom)
            self.assertEqual(rows[:3], ["login", "assets", "default"], dom[-3000:])
            over = re.findall(r'<tr[^>]*class="over"[^>]*data-route="([^"]+)"|'
                              r'<tr[^>]*data-route="([^"]+)"[^>]*class="over"', dom)
            over = [a or b for a, b in over]
            self.assertEqual(over, ["login"], "only login (30 ms, objective 10 ms) is over")
            self.assertIn("no TLS listener", dom)  # certificates: shown as absent
            self.assertIn('<td class="name good">healthy</td>', dom)  # the upstream's server
            self.assertIn('<span id="error"></span>', dom, "the page reported a failed refresh")

    def test_page_shows_health_certificate_cache_and_refusals(self):
        chromium = find_chromium()
        if not chromium:
            self.skipTest("chromium is not installed (Debian package chromium)")
        tmp = tempfile.mkdtemp(prefix="edgegate-status-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = os.path.join(tmp, "site.pem"), os.path.join(tmp, "site.key")
        # Ten days left: the page marks it (the alert rule's threshold is 14 days).
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "10", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        dead = "127.0.0.1:%d" % closed_port()
        check = {"path": "/healthz", "interval": "100ms", "timeout": "200ms",
                 "unhealthy_after": 2, "healthy_after": 2}
        routes = [route("login", path="/delay/30", slo_p95="10ms", rate_limit="auth"),
                  route("assets", prefix="/set/s/", cache="static"),
                  route("default", prefix="/")]
        with Origin("page-origin") as o:
            cfg = make_config([o, dead], routes=routes,
                              upstream={"health_check": check, "retries": 1})
            https_port = free_port()
            cfg["listeners"].append({"name": "https", "bind": "127.0.0.1:%d" % https_port,
                                     "tls": {"certificates": [{"cert": cert, "key": key}]}})
            cfg["cache"] = {"memory": "8MiB",
                            "policies": {"static": {"default_ttl": "1h"}}}
            cfg["rate_limits"] = {"store": "local", "policies": {
                "auth": {"rate": "1/1h", "burst": 3, "key": "client_ip"}}}
            with Gateway(cfg) as gw:
                wait_for(lambda: gw.metric("edgegate_upstream_healthy", upstream="app",
                                           server=dead) == 0, 5, what="the dead server ejected")
                codes = [gw.get("/delay/30").status for _ in range(5)]
                self.assertEqual(codes, [200, 200, 200, 429, 429])
                for _ in range(5):  # one miss, then four hits
                    self.assertEqual(gw.get("/set/s/logo").status, 200)
                for _ in range(10):
                    self.assertEqual(gw.get("/echo").status, 200)
                r = curl("-k", "-o", "/dev/null", "-w", "%{http_code}",
                         "https://localhost:%d/echo" % https_port)
                self.assertEqual(r.stdout.strip(), b"200", r.stderr)
                # Every one of the 21 requests counted before the page reads the counters.
                gw.metrics_when("edgegate_requests_total", 21)

                url = "http://%s/" % gw.admin
                p = run_chromium(chromium, ["--virtual-time-budget=5000", "--dump-dom", url])
                self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:])
                dom = p.stdout.decode(errors="replace")
                self.assertIn('<span id="error"></span>', dom, "the page reported a failed refresh")

                def cells(row_re):
                    m = re.search(row_re + r"(.*?)</tr>", dom, re.S)
                    self.assertIsNotNone(m, "no row %s in %s" % (row_re, dom[-3000:]))
                    return re.findall(r"<td([^>]*)>([^<]*)</td>", m.group(1))

                # site, route, req/s, p50, p95, p99, objective, 5xx, cache hit, 429 (60 s),
                # 429 (total), requests (total)
                login = [text for _, text in cells(r'<tr[^>]*data-route="login"[^>]*>')]
                self.assertEqual(login[9:], ["2", "2", "5"], login)
                assets = [text for _, text in cells(r'<tr[^>]*data-route="assets"[^>]*>')]
                self.assertEqual(assets[8], "80.00 %", assets)
                self.assertEqual(assets[11], "5", assets)

                servers = re.findall(r'<td class="name">(127\.0\.0\.1:\d+)</td>'
                                     r'<td class="name ([a-z ]+)">([A-Za-z ]+)</td>', dom)
                self.assertEqual(sorted((a, t) for a, _, t in servers),
                                 sorted([(o.addr, "healthy"), (dead, "UNHEALTHY")]), dom[-3000:])

                cert_row = cells(r"<tr><td class=\"name\">" + re.escape(cert) + "</td>")
                days_cls, days = cert_row[-1]
                self.assertIn("bad", days_cls, "10 days left is not marked: %r" % (cert_row,))
                self.assertTrue(9.0 <= float(days) <= 10.0, days)
                self.assertNotIn("no TLS listener", dom)

                out_dir = os.path.dirname(EDGEGATE_BIN)
                shot = os.path.join(out_dir, "status-page.png")
                if os.path.exists(shot):
                    os.unlink(shot)
                p = run_chromium(chromium, ["--virtual-time-budget=5000", "--hide-scrollbars",
                                            "--window-size=1400,800", "--screenshot=" + shot,
                                            url])
                self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:])
                self.assertTrue(os.path.exists(shot), "no screenshot written")
                with open(shot, "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
