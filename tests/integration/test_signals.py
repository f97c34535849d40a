"""Signals and the command line: SIGHUP reload (good and broken files), SIGTERM drain,
`edgegate -t`, start-up with a broken file, --version."""

import copy
import os
import re
import signal
import socket
import tempfile
import threading
import time
import unittest

from harness import (EdgeTestCase, Gateway, Origin, http, make_config, read_response, route,
                     run_edgegate, to_yaml, wait_for)


class InFlight:
    """A request in a background thread; .result is a Resp or an exception."""

    def __init__(self, gw, path, host="localhost", timeout=20):
        self.result = None
        self.done_at = None

        def run():
            try:
                self.result = gw.get(path, host=host, timeout=timeout)
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.result = e
            self.done_at = time.monotonic()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self, timeout):
        self.thread.join(timeout)
        return self.result


def wait_origin_busy(origin, before, what="the in-flight request to reach the origin"):
    # /stats itself counts one request per call.
    wait_for(lambda: origin.stats()["requests"] >= before + 2, 5, interval=0.02, what=what)


class ReloadTest(EdgeTestCase):
    def test_good_reload_applies_new_routes_and_keeps_in_flight(self):
        with Origin("old-a") as a, Origin("new-b") as b:
            cfg = make_config(a)
            with Gateway(cfg) as gw:
                r = gw.get("/echo/new")
                self.assertEqual(r.status, 200)
                self.assertEqual(r.header("X-Origin"), "old-a", "before the reload")

                # A keep-alive client connection from before the reload.
                keep = gw.connect()
                keep.sendall(b"GET /echo?before HTTP/1.1\r\nHost: localhost\r\n\r\n")
                self.assertEqual(read_response(keep)[0], 200)

                before = a.stats()["requests"]
                slow = InFlight(gw, "/delay/1500")
                wait_origin_busy(a, before)

                cfg2 = copy.deepcopy(cfg)
                cfg2["upstreams"]["second"] = {"servers": [b.addr]}
                cfg2["sites"][0]["routes"].insert(0, route("new", upstream="second",
                                                           prefix="/echo/new"))
                gw.reload(cfg2)

                def switched():
                    return gw.get("/echo/new").header("X-Origin") == "new-b"
                wait_for(switched, 5, what="requests to /echo/new to reach the new upstream")
                self.assertEqual(gw.get("/echo").header("X-Origin"), "old-a")

                res = slow.join(10)
                self.assertFalse(isinstance(res, Exception), "in-flight request failed: %r" % res)
                self.assertEqual(res.status, 200, res)
                self.assertEqual(res.body, b"delayed 1500 ms\n")

                # The connection from before the reload still works.
                try:
                    keep.sendall(b"GET /echo/new HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    status, headers, _, _ = read_response(keep)
                finally:
                    keep.close()
                self.assertEqual(status, 200)

                gw.wait_reloads(1, "success")
                self.assertEqual(gw.reload_count("failure"), 0)

    def test_broken_reload_keeps_old_config(self):
        with Origin("keep-a") as a:
            cfg = make_config(a)
            with Gateway(cfg) as gw:
                self.assertEqual(gw.get("/echo").status, 200)
                # A YAML syntax error.
                gw.reload("server:\n  workers: [1, 2\nlisteners: {\n")
                wait_for(lambda: gw.reload_count("failure") == 1, 5,
                         what='edgegate_config_reloads_total{result="failure"} == 1')
                self.assertTrue(gw.alive(), "edgegate died on a broken reload")
                for _ in range(5):
                    r = gw.get("/echo")
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.header("X-Origin"), "keep-a")
                # Valid YAML, invalid configuration: refused as well.
                bad = copy.deepcopy(cfg)
                bad["sites"][0]["routes"][0]["upstream"] = "no-such-upstream"
                gw.reload(bad)
                wait_for(lambda: gw.reload_count("failure") == 2, 5,
                         what='edgegate_config_reloads_total{result="failure"} == 2')
                self.assertEqual(gw.get("/echo").status, 200)
                self.assertEqual(gw.reload_count("success"), 0)


class DrainTest(EdgeTestCase):
    def test_sigterm_finishes_in_flight_and_refuses_new(self):
        with Origin("drain-a") as a:
            gw = Gateway(make_config(a, drain_timeout="5s"))
            with gw:
                before = a.stats()["requests"]
                slow = InFlight(gw, "/delay/1000")
                wait_origin_busy(a, before)
                t0 = time.monotonic()
                gw.signal(signal.SIGTERM)

                # New connections are refused (or closed unanswered) soon after SIGTERM.
                def refused():
                    try:
                        r = gw.get("/echo", timeout=2)
                    except (ConnectionRefusedError, ConnectionResetError):
                        return True
                    except OSError as e:  # RemoteDisconnected and friends
                        return "closed: %r" % e
                    return r.status == 503
                wait_for(refused, 0.8, interval=0.05, what="new connections to be refused")

                res = slow.join(10)
                self.assertFalse(isinstance(res, Exception), "in-flight request failed: %r" % res)
                self.assertEqual(res.status, 200)
                self.assertEqual(res.body, b"delayed 1000 ms\n")
                rc = gw.wait_exit(6)
                exited = time.monotonic() - t0
                self.assertIsNotNone(rc, "edgegate still running 6 s after SIGTERM")
                self.assertEqual(rc, 0, "exit code after SIGTERM")
                self.assertLess(exited, 5.0, "exit took %.1fs, drain_timeout is 5s" % exited)

    def test_readyz_503_while_draining(self):
        with Origin("drain-b") as a:
            with Gateway(make_config(a, drain_timeout="5s")) as gw:
                before = a.stats()["requests"]
                slow = InFlight(gw, "/delay/1500")
                wait_origin_busy(a, before)
                gw.signal(signal.SIGTERM)
                time.sleep(0.2)
                try:
                    r = gw.admin_get("/readyz")
                    self.assertEqual(r.status, 503, "readyz while draining")
                    r = gw.admin_get("/healthz")
                    self.assertEqual(r.status, 200, "healthz while draining")
                except OSError as e:
                    self.fail("admin listener gone while draining (%r): SPEC wants /readyz 503 "
                              "while draining" % e)
                self.assertEqual(slow.join(10).status, 200)
                self.assertEqual(gw.wait_exit(6), 0)

    def test_idle_keepalive_connection_does_not_delay_exit(self):
        with Origin("drain-c") as a:
            with Gateway(make_config(a, drain_timeout="8s")) as gw:
                s = gw.connect()
                try:
                    s.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    self.assertEqual(read_response(s)[0], 200)
                    t0 = time.monotonic()
                    gw.signal(signal.SIGTERM)
                    rc = gw.wait_exit(10)
                    elapsed = time.monotonic() - t0
                    s.settimeout(1)
                    try:
                        tail = s.recv(100)
                    except (socket.timeout, ConnectionResetError):
                        tail = b""
                finally:
                    s.close()
                self.assertEqual(rc, 0)
                self.assertLess(elapsed, 2.5, "an idle keep-alive connection held the drain for "
                                "%.1fs" % elapsed)
                self.assertEqual(tail, b"")

    def test_drain_timeout_bounds_exit(self):
        with Origin("drain-d") as a:
            with Gateway(make_config(a, drain_timeout="1s")) as gw:
                before = a.stats()["requests"]
                slow = InFlight(gw, "/delay/8000")
                wait_origin_busy(a, before)
                t0 = time.monotonic()
                gw.signal(signal.SIGTERM)
                rc = gw.wait_exit(6)
                elapsed = time.monotonic() - t0
                self.assertIsNotNone(rc, "still running 6 s after SIGTERM with drain_timeout 1s")
                self.assertEqual(rc, 0)
                self.assertGreaterEqual(elapsed, 0.8)
                self.assertLess(elapsed, 2.5, "exit %.1fs after SIGTERM, drain_timeout 1s"
                                % elapsed)
                res = slow.join(5)
                self.assertTrue(isinstance(res, Exception) or res.status != 200,
                                "a request longer than drain_timeout cannot complete: %r" % res)


class CommandLineTest(EdgeTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="edgegate-cli-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.dir, ignore_errors=True))

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_validate_good_file(self):
        path = self.write("good.yaml", to_yaml(make_config("127.0.0.1:9")))
        p = run_edgegate("-t", "-c", path)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("configuration OK", p.stdout)

    def test_validate_unknown_key(self):
        text = to_yaml(make_config("127.0.0.1:9"))
        self.assertTrue(text.startswith("server:\n  workers: 2\n"), text[:40])
        # Line 3, column 3.
        text = text.replace("server:\n  workers: 2\n", "server:\n  workers: 2\n  bogus_key: 1\n", 1)
        path = self.write("unknown.yaml", text)
        p = run_edgegate("-t", "-c", path)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)
        self.assertRegex(out, r"(?m)^%s:3:3: .*bogus_key" % re.escape(path))
        self.assertNotIn("configuration OK", out)

    def test_validate_lists_every_problem(self):
        text = to_yaml(make_config("127.0.0.1:9"))
        text = text.replace("server:\n  workers: 2\n",
                            "server:\n  workers: 2\n  bogus_one: 1\n  bogus_two: 2\n", 1)
        path = self.write("two.yaml", text)
        p = run_edgegate("-t", "-c", path)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)
        self.assertRegex(out, r"(?m)^%s:3:\d+: .*bogus_one" % re.escape(path))
        self.assertRegex(out, r"(?m)^%s:4:\d+: .*bogus_two" % re.escape(path))

    def test_validate_yaml_syntax_error(self):
        path = self.write("syntax.yaml", "server:\n  workers: [1, 2\nlisteners: {\n")
        p = run_edgegate("-t", "-c", path)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)
        self.assertRegex(out, r"(?m)^%s:\d+:\d+: " % re.escape(path))

    def test_start_with_broken_file_exits_1(self):
        cfg = make_config("127.0.0.1:9")
        cfg["server"]["bogus_key"] = 1
        path = self.write("bad.yaml", to_yaml(cfg))
        port = int(cfg["listeners"][0]["bind"].rsplit(":", 1)[1])
        p = run_edgegate("-c", path, timeout=15)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("bogus_key", p.stdout + p.stderr)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()

    def test_version(self):
        p = run_edgegate("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        for word in ("edgegate", "OpenSSL", "libevent", "nghttp2"):
            self.assertIn(word, p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
