"""Concurrency sanity: wrk through the proxy, and many parallel Python clients."""

import re
import shutil
import subprocess
import threading
import unittest

from harness import EdgeTestCase, Gateway, Origin, is_asan, make_config, metric_value


def parse_wrk(out):
    """wrk's summary -> dict(requests, non2xx, socket_errors dict)."""
    m = re.search(r"(\d+) requests in ", out)
    if not m:
        raise AssertionError("cannot parse wrk output:\n" + out)
    res = {"requests": int(m.group(1)), "non2xx": 0,
           "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0}}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                        map(int, m.groups())))
    return res


class WrkTest(EdgeTestCase):
    @unittest.skipIf(shutil.which("wrk") is None, "wrk is not installed")
    def test_wrk_64_connections(self):
        with Origin("wrk-origin", threads=2) as o, Gateway(make_config(o)) as gw:
            p = subprocess.run(["wrk", "-t2", "-c64", "-d3s", "--timeout", "5s",
                                "-H", "Host: localhost", gw.url + "/"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            res = parse_wrk(p.stdout)
            self.assertGreater(res["requests"], 100 if is_asan() else 1000, p.stdout)
            self.assertEqual(res["non2xx"], 0, p.stdout)
            self.assertEqual(res["socket_errors"],
                             {"connect": 0, "read": 0, "write": 0, "timeout": 0}, p.stdout)
            self.assertTrue(gw.alive(), "edgegate died under load")
            # Still serving, and every answered request was counted.
            self.assertEqual(gw.get("/echo").status, 200)
            counted = metric_value(gw.metrics_when("edgegate_requests_total", res["requests"],
                                                   route="default", code="200"),
                                   "edgegate_requests_total", route="default", code="200")
            self.assertIsNotNone(counted)
            self.assertGreaterEqual(counted, res["requests"])


class ParallelClientsTest(EdgeTestCase):
    def test_parallel_clients_with_bodies(self):
        with Origin("par-origin", threads=2) as o, Gateway(make_config(o)) as gw:
            errors = []
            lock = threading.Lock()

            def client(n):
                try:
                    for i in range(20):
                        body = (b"%d-%d-" % (n, i)) * (50 + i)
                        r = gw.request("POST", "/echo?c=%d&i=%d" % (n, i), body=body)
                        echo = r.json()
                        if (r.status != 200 or echo["body_bytes"] != len(body)
                                or echo["query"] != "c=%d&i=%d" % (n, i)):
                            raise AssertionError("client %d request %d: %r" % (n, i, r))
                except Exception as e:  # noqa: BLE001 - collected
                    with lock:
                        errors.append(repr(e))

            threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
