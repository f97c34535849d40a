"""The access log (SPEC.md "Access log"): one JSON object a line, redacted query values,
no Authorization / Cookie / Set-Cookie values; SIGUSR1 reopens the file."""

import json
import os
import signal
import unittest

from harness import EdgeTestCase, Gateway, Origin, curl, make_config, wait_for

FIELDS = ("ts", "request_id", "client_ip", "method", "host", "path", "status", "bytes",
          "duration_ms", "site", "route", "upstream", "upstream_ms", "cache", "ratelimit",
          "protocol")


def read_lines(path):
    try:
        with open(path) as f:
            return [line for line in f.read().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


class AccessLogTest(EdgeTestCase):
    def test_access_log_lines(self):
        with Origin("log-origin") as o, Gateway(
                make_config(o, access_log="@TMP@/access.log")) as gw:
            path = os.path.join(gw.dir, "access.log")
            r = gw.get("/echo?token=tok123&x=1&password=pw456",
                       headers={"Authorization": "Bearer auth-secret-789",
                                "Cookie": "session=cookie-secret-012"})
            self.assertEqual(r.status, 200)
            rid = r.header("X-Request-Id")
            r404 = gw.get("/", host="nobody.example")
            self.assertEqual(r404.status, 421)
            r = gw.get("/set?Set-Cookie=sc-secret-345")
            self.assertEqual(r.status, 200)

            lines = wait_for(lambda: len(read_lines(path)) >= 3 and read_lines(path), 5,
                             what="3 access log lines in %s" % path)
            entries = []
            for line in lines:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    self.fail("access log line is not one JSON object: %r" % line)
            first = [e for e in entries if e.get("request_id") == rid]
            self.assertEqual(len(first), 1, "no line with request_id %s in %r" % (rid, lines))
            e = first[0]
            for field in FIELDS:
                self.assertIn(field, e, "access log field %s missing: %r" % (field, e))
            self.assertEqual(e["client_ip"], "127.0.0.1")
            self.assertEqual(e["method"], "GET")
            self.assertEqual(e["host"], "localhost")
            self.assertEqual(e["status"], 200)
            self.assertEqual(e["site"], "main")
            self.assertEqual(e["route"], "echo")
            self.assertEqual(e["upstream"], "app")
            self.assertIn("token=REDACTED", e["path"])
            self.assertIn("password=REDACTED", e["path"])
            self.assertIn("x=1", e["path"])
            self.assertTrue(e["path"].startswith("/echo?"), e["path"])
            self.assertGreater(e["bytes"], 0)
            self.assertEqual(e["protocol"], "HTTP/1.1")

            text = "\n".join(lines)
            for secret in ("tok123", "pw456", "auth-secret-789", "cookie-secret-012",
                           "sc-secret-345"):
                self.assertNotIn(secret, text, "a secret reached the access log")
            self.assertTrue(any(x.get("status") == 421 for x in entries),
                            "the 421 was not logged")

            # SIGUSR1 reopens: after a rotation, new lines go to a new file at the old path.
            os.rename(path, path + ".1")
            gw.signal(signal.SIGUSR1)

            def rotated():
                gw.get("/echo?after=rotate")
                return any("after=rotate" in line for line in read_lines(path))
            wait_for(rotated, 5, interval=0.2,
                     what="a line in the reopened access log after SIGUSR1")

    def test_protocol_field(self):
        """`protocol` says how the client spoke: HTTP/1.0, HTTP/1.1 or HTTP/2 (h2c here)."""
        with Origin("proto-origin") as o:
            cfg = make_config(o, access_log="@TMP@/access.log")
            cfg["listeners"][0]["http2"] = True
            with Gateway(cfg) as gw:
                path = os.path.join(gw.dir, "access.log")
                url = "http://localhost:%d/echo?v=" % gw.port
                for flag, v in (("--http1.0", "10"), ("--http1.1", "11"),
                                ("--http2-prior-knowledge", "2")):
                    r = curl(flag, "-o", "/dev/null", "-w", "%{http_code}", url + v)
                    self.assertEqual(r.stdout.decode(), "200", r.stderr)
                lines = wait_for(lambda: len(read_lines(path)) >= 3 and read_lines(path), 5,
                                 what="3 access log lines in %s" % path)
                got = {json.loads(line)["path"]: json.loads(line)["protocol"] for line in lines}
                self.assertEqual(got, {"/echo?v=10": "HTTP/1.0", "/echo?v=11": "HTTP/1.1",
                                       "/echo?v=2": "HTTP/2"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
