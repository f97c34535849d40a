"""The admin status page (GET /) in a real browser: headless Chromium loads it, its script
fetches /status.json, and the rendered table shows every route, with the one over its p95
objective marked. A screenshot is saved next to the binary (the build directory) as
status-page.png, for CI to keep as an artifact and for docs/observability.md."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import EDGEGATE_BIN, EdgeTestCase, Gateway, Origin, make_config, route


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

            out_dir = os.path.dirname(EDGEGATE_BIN)
            shot = os.path.join(out_dir, "status-page.png")
            if os.path.exists(shot):
                os.unlink(shot)
            p = run_chromium(chromium, ["--virtual-time-budget=5000", "--hide-scrollbars",
                                        "--window-size=1400,800", "--screenshot=" + shot, url])
            self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:])
            self.assertTrue(os.path.exists(shot), "no screenshot written")
            with open(shot, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
