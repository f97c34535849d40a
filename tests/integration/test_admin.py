"""The admin listener: /healthz, /readyz, /metrics, /config, POST /reload and its token."""

import json
import time
import unittest

from harness import (EdgeTestCase, Gateway, Origin, make_config, metric_value, read_response,
                     wait_for)

TOKEN_ENV = "EDGEGATE_IT_ADMIN_TOKEN"
TOKEN = "it-secret-token-4f9c2a"


class AdminTest(EdgeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = cls.enterClassContext(Origin("admin-origin"))
        cls.gw = cls.enterClassContext(Gateway(
            make_config(cls.origin, admin_token_env=TOKEN_ENV), env={TOKEN_ENV: TOKEN}))

    def test_healthz(self):
        r = self.gw.admin_get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body.strip(), b"ok")

    def test_readyz(self):
        self.assertEqual(self.gw.admin_get("/readyz").status, 200)

    def test_metrics_request_counts(self):
        # A route used only here: /echo/metrics-only hits route `echo`, so count deltas.
        labels = dict(site="main", route="echo")
        before = self.gw.metrics()

        def val(m, name, **extra):
            v = 0.0
            want = set(dict(labels, **extra).items())
            for (n, ls), x in m.items():
                if n == name and want <= set(ls):
                    v += x
            return v

        for i in range(7):
            self.assertEqual(self.gw.get("/echo?m=%d" % i).status, 200)
        for i in range(3):
            self.assertEqual(self.gw.request("POST", "/echo", body=b"x").status, 200)
        for i in range(2):
            self.assertEqual(self.gw.get("/echo/status-is-404-at-origin-but-route-echo").status,
                             200)
        # A request's counter and histogram move together, once its last byte is written.
        after = self.gw.metrics_when("edgegate_request_duration_seconds_count",
                                     val(before, "edgegate_request_duration_seconds_count") + 12,
                                     **labels)
        text = self.gw.metrics_text()

        self.assertEqual(val(after, "edgegate_requests_total", method="GET", code="200")
                         - val(before, "edgegate_requests_total", method="GET", code="200"), 9)
        self.assertEqual(val(after, "edgegate_requests_total", method="POST", code="200")
                         - val(before, "edgegate_requests_total", method="POST", code="200"), 3)
        self.assertIn("# TYPE edgegate_requests_total counter", text)

        # The histogram: buckets, _sum, _count; +Inf bucket == count.
        self.assertIn("# TYPE edgegate_request_duration_seconds histogram", text)
        count = (val(after, "edgegate_request_duration_seconds_count")
                 - val(before, "edgegate_request_duration_seconds_count"))
        self.assertEqual(count, 12)
        inf = (val(after, "edgegate_request_duration_seconds_bucket", le="+Inf")
               - val(before, "edgegate_request_duration_seconds_bucket", le="+Inf"))
        self.assertEqual(inf, 12)
        self.assertGreater(val(after, "edgegate_request_duration_seconds_sum"),
                           val(before, "edgegate_request_duration_seconds_sum"))
        buckets = sorted((float(dict(ls)["le"]), v) for (n, ls), v in after.items()
                         if n == "edgegate_request_duration_seconds_bucket"
                         and set(labels.items()) <= set(ls))
        self.assertGreater(len(buckets), 3, "too few histogram buckets")
        values = [v for _, v in buckets]
        self.assertEqual(values, sorted(values), "histogram buckets are not cumulative")

    def test_metrics_error_codes_counted(self):
        before = self.gw.metric("edgegate_requests_total", code="421") or 0
        self.assertEqual(self.gw.get("/", host="nobody.example").status, 421)
        m = self.gw.metrics_when("edgegate_requests_total", before + 1, code="421")
        self.assertEqual(metric_value(m, "edgegate_requests_total", code="421"), before + 1)

    def test_connections_active(self):
        # Absent before the first connection is acceptable; 0 is expected once all closed.
        base = self.gw.metric("edgegate_connections_active", listener="http") or 0
        socks = []
        try:
            for _ in range(3):
                s = self.gw.connect()
                s.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
                socks.append(s)
            for s in socks:
                # The whole response: the close below is an orderly FIN, not an RST.
                self.assertEqual(read_response(s, timeout=5)[0], 200)
            self.assertEqual(self.gw.metric("edgegate_connections_active", listener="http"),
                             base + 3)
        finally:
            for s in socks:
                s.close()
        wait_for(lambda: (self.gw.metric("edgegate_connections_active", listener="http") or 0)
                 == base,
                 3, what="edgegate_connections_active to go back to %d after the clients closed"
                 % base)
        # A connection closed without a request is released as well.
        self.gw.connect().close()
        time.sleep(0.2)
        wait_for(lambda: (self.gw.metric("edgegate_connections_active", listener="http") or 0)
                 == base,
                 3, what="edgegate_connections_active back to %d after a bare connect/close"
                 % base)

    def test_config_json_redacts_token(self):
        r = self.gw.admin_get("/config")
        self.assertEqual(r.status, 200)
        self.assertTrue((r.header("Content-Type") or "").startswith("application/json"),
                        r.header("Content-Type"))
        cfg = r.json()
        self.assertNotIn(TOKEN, r.text(), "the admin token appears in /config")
        self.assertIn('"<redacted>"', r.text())
        self.assertIn("server", cfg)
        text = json.dumps(cfg)
        self.assertIn(self.origin.addr, text, "the upstream servers are missing from /config")

    def test_post_reload_needs_token(self):
        r = self.gw.admin_request("POST", "/reload")
        self.assertEqual(r.status, 401, r)
        r = self.gw.admin_request("POST", "/reload",
                                  headers={"Authorization": "Bearer wrong-token"})
        self.assertEqual(r.status, 401, r)
        before = self.gw.reload_count("success")
        r = self.gw.admin_request("POST", "/reload",
                                  headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(r.status, 200, r)
        r.json()
        self.assertEqual(self.gw.reload_count("success"), before + 1)
        self.assertEqual(self.gw.get("/echo").status, 200)

    def test_unknown_admin_path_404(self):
        self.assertEqual(self.gw.admin_get("/no-such-admin-endpoint").status, 404)


class AdminWithoutTokenTest(EdgeTestCase):
    def test_post_reload_without_token_env_is_open(self):
        with Origin("admin-open") as o, Gateway(make_config(o)) as gw:
            r = gw.admin_request("POST", "/reload")
            self.assertEqual(r.status, 200, r)
            r.json()

    def test_connections_active_exported_per_listener(self):
        with Origin("admin-gauge") as o, Gateway(make_config(o)) as gw:
            self.assertEqual(gw.get("/echo").status, 200)
            self.assertIsNotNone(gw.metric("edgegate_connections_active", listener="http"),
                                 'edgegate_connections_active{listener="http"} is not exported')


if __name__ == "__main__":
    unittest.main(verbosity=2)
