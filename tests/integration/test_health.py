"""Active health checks, passive ejection, 503 without a healthy server, and the
edgegate_upstream_healthy gauge."""

import time
import unittest

from harness import (EdgeTestCase, Gateway, Load, Origin, RawOrigin, closed_port, make_config,
                     route, wait_for)

# Short intervals keep the suite fast: a dead server is out after
# interval * unhealthy_after plus at most one timeout.
CHECK = {"path": "/healthz", "interval": "100ms", "timeout": "200ms", "unhealthy_after": 2,
         "healthy_after": 2}
# The longest an outage may take to show: the checks plus scheduling slack on a busy CI box.
EJECT_WITHIN = 0.1 * 2 + 0.2 + 1.5


def healthy(gw, server):
    return gw.metric("edgegate_upstream_healthy", upstream="app", server=server)


def origins_of(gw, n):
    seen = {}
    for _ in range(n):
        r = gw.get("/")
        assert r.status == 200, (r.status, r.body[:200])
        name = r.header("X-Origin")
        seen[name] = seen.get(name, 0) + 1
    return seen


class ActiveHealthTest(EdgeTestCase):
    def test_killed_origin_is_ejected_and_rejoins(self):
        b = self.enterContext(Origin("hc-b"))
        a = Origin("hc-a").start()
        port_a = a.port
        try:
            cfg = make_config([a, b], upstream={"health_check": CHECK, "retries": 1})
            gw = self.enterContext(Gateway(cfg))
            self.assertEqual(healthy(gw, a.addr), 1)
            self.assertEqual(healthy(gw, b.addr), 1)
            with Load(gw.port, keepalive=2, fresh=2) as load:
                wait_for(lambda: load.total() > 50, 10, what="some load")
                a.stop()
                killed = time.monotonic()
                wait_for(lambda: healthy(gw, "127.0.0.1:%d" % port_a) == 0, EJECT_WITHIN + 1,
                         what="the killed origin marked unhealthy")
                took = time.monotonic() - killed
                print("killed origin ejected after %.2fs (checks every 100ms, unhealthy_after 2)"
                      % took)
                self.assertLess(took, EJECT_WITHIN)
                during = load.summary()
                before_failed = load.failed + load.resets
                time.sleep(1.0)
                after_failed = load.failed + load.resets
                print("while the origin died: %s" % during)
                print("after its ejection, new failures: %d" % (after_failed - before_failed))
            self.assertEqual(after_failed, before_failed, load.summary())
            self.assertEqual(origins_of(gw, 10), {"hc-b": 10})

            # A reload keeps what the checks found for a server that remains.
            cfg["sites"][0]["routes"].insert(0, route("extra", path="/extra"))
            gw.reload(cfg)
            gw.wait_reloads(1, result="success")
            self.assertEqual(healthy(gw, "127.0.0.1:%d" % port_a), 0)

            a = Origin("hc-a", port=port_a).start()
            back = time.monotonic()
            wait_for(lambda: healthy(gw, a.addr) == 1, EJECT_WITHIN + 1,
                     what="the restarted origin back in rotation")
            print("restarted origin rejoined after %.2fs (healthy_after 2)"
                  % (time.monotonic() - back))
            seen = origins_of(gw, 10)
            self.assertGreaterEqual(seen.get("hc-a", 0), 2, seen)  # two workers, round robin each
        finally:
            a.stop()

    def test_no_healthy_server_answers_503(self):
        a = Origin("hc-only").start()
        try:
            gw = self.enterContext(Gateway(make_config([a], upstream={"health_check": CHECK})))
            self.assertEqual(gw.get("/").status, 200)
            addr = a.addr
            a.stop()
            wait_for(lambda: healthy(gw, addr) == 0, EJECT_WITHIN + 1, what="unhealthy")
            r = gw.get("/")
            self.assertErrorBody(r.status, r.headers, r.body, 503)
            self.assertIn(b"no healthy server", r.body)
        finally:
            a.stop()

    def test_failing_check_status_takes_server_out(self):
        # The server answers requests but its health endpoint says 503.
        b = self.enterContext(Origin("hc-ok"))
        sick = self.enterContext(RawOrigin(
            lambda head, body: b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
            if head.startswith(b"GET /healthz ") else
            b"HTTP/1.1 200 OK\r\nX-Origin: sick\r\nContent-Length: 2\r\n\r\nok"))
        gw = self.enterContext(Gateway(make_config([sick, b], upstream={"health_check": CHECK})))
        wait_for(lambda: healthy(gw, sick.addr) == 0, EJECT_WITHIN + 1, what="unhealthy")
        self.assertEqual(healthy(gw, b.addr), 1)
        self.assertEqual(origins_of(gw, 6), {"hc-ok": 6})
        status = gw.admin_get("/status.json").json()
        servers = {s["server"]: s["healthy"] for u in status["upstreams"] for s in u["servers"]}
        self.assertEqual(servers[sick.addr], False)
        self.assertEqual(servers[b.addr], True)


class PassiveEjectionTest(EdgeTestCase):
    def test_consecutive_5xx_eject_for_a_while(self):
        good = self.enterContext(Origin("pe-good"))
        bad = self.enterContext(RawOrigin(
            lambda head, body: b"HTTP/1.1 500 Internal Server Error\r\nX-Origin: bad\r\n"
                               b"Content-Length: 0\r\n\r\n"))
        od = {"consecutive_5xx": 2, "consecutive_failures": 0, "eject_for": "1s"}
        gw = self.enterContext(Gateway(make_config(
            [bad, good], workers=1, upstream={"outlier_detection": od, "retries": 0})))
        codes = [gw.get("/").status for _ in range(4)]  # round robin: bad, good, bad, good
        self.assertEqual(codes, [500, 200, 500, 200])
        self.assertEqual(healthy(gw, bad.addr), 0)
        self.assertEqual(origins_of(gw, 6), {"pe-good": 6})
        wait_for(lambda: healthy(gw, bad.addr) == 1, 3, what="back after eject_for")
        print("5xx server ejected after 2 answers and back after eject_for 1s")

    def test_connect_failures_eject_and_retries_hide_them(self):
        good = self.enterContext(Origin("pe-up"))
        dead = "127.0.0.1:%d" % closed_port()
        od = {"consecutive_failures": 1, "eject_for": "30s"}
        gw = self.enterContext(Gateway(make_config(
            [dead, good], workers=1, upstream={"outlier_detection": od, "retries": 1})))
        for _ in range(6):
            self.assertEqual(gw.get("/").status, 200)
        self.assertEqual(healthy(gw, dead), 0)
        self.assertEqual(healthy(gw, good.addr), 1)
        tried = gw.metric("edgegate_upstream_requests_total", upstream="app", outcome="retried")
        print("requests retried on the other server before the ejection: %s" % tried)
        self.assertEqual(tried, 1)


if __name__ == "__main__":
    unittest.main()
