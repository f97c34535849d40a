"""`edgegate explain` (SPEC.md "Command line") on the launch example and against a running
gateway (explain must say what the gateway does), and `edgegate -t` on every file in
conf/examples/ (each must be accepted, with throw-away certificates for its TLS paths)."""

import glob
import json
import os
import re
import shutil
import tempfile
import unittest

from harness import (EdgeTestCase, Gateway, Origin, http, make_config, route, run_edgegate,
                     to_yaml)
from test_tls import Pki

SOURCE = os.environ.get("EDGEGATE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(SOURCE, "conf", "examples")
LAUNCH = os.path.join(EXAMPLES, "launch.yaml")


def example_env(path, tls_dir, pki):
    """Values for every ${VAR} of an example: ports, a TLS dir holding a certificate for each
    ${..._TLS_DIR}/NAME.pem it names, and origin addresses for the rest."""
    text = open(path).read()
    env = {}
    for i, name in enumerate(sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text)))):
        if name.endswith("_PORT"):
            env[name] = str(18000 + i)
        elif name.endswith("_TLS_DIR"):
            env[name] = tls_dir
            for stem in set(re.findall(r"\$\{%s\}/([\w.-]+)\.pem" % name, text)):
                leaf = pki.leaf(stem, ["example.com", "*.example.com", "localhost"])
                shutil.copy(leaf["cert"], os.path.join(tls_dir, stem + ".pem"))
                shutil.copy(leaf["key"], os.path.join(tls_dir, stem + ".key"))
        else:
            env[name] = "127.0.0.1:%d" % (13000 + i)
    return env


class ExplainTest(EdgeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.tls_dir = tempfile.mkdtemp(prefix="edgegate-explain-")
        cls.env = example_env(LAUNCH, cls.tls_dir, cls.pki)

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()
        shutil.rmtree(cls.tls_dir, ignore_errors=True)

    def explain(self, *args, config=LAUNCH, rc=0):
        r = run_edgegate("explain", "-c", config, *args, env=self.env)
        self.assertEqual(r.returncode, rc, r.stdout + r.stderr)
        if rc != 0:
            return r.stderr
        out = {}
        for line in r.stdout.splitlines():
            key, sep, value = line.partition(": ")
            self.assertTrue(sep, "not a 'key: value' line: %r" % line)
            self.assertNotIn(key, out, "key printed twice: %r" % key)
            out[key] = value
        return out

    def test_every_example_passes_validation(self):
        files = sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml")))
        self.assertIn(LAUNCH, files)
        for path in files:
            tls_dir = tempfile.mkdtemp(prefix="edgegate-example-")
            try:
                r = run_edgegate("-t", "-c", path, env=example_env(path, tls_dir, self.pki))
            finally:
                shutil.rmtree(tls_dir, ignore_errors=True)
            self.assertEqual(r.returncode, 0, "%s:\n%s%s" % (path, r.stdout, r.stderr))
            self.assertIn("configuration OK", r.stdout, path)

    def test_alias_over_http_with_a_campaign_url_is_one_redirect(self):
        out = self.explain("http://www.example.com/spring-sale?utm_source=mail")
        self.assertEqual(out["decision"], "redirect")
        self.assertEqual(out["status"], "301")
        self.assertEqual(out["location"], "https://example.com/pricing?utm_source=mail")
        self.assertEqual(out["site"], "www")
        self.assertNotIn("response_header.Strict-Transport-Security", out)  # plain HTTP
        self.assertEqual(out["response_header.X-Frame-Options"], "DENY")
        self.assertEqual(out["response_headers_removed"], "Server, X-Powered-By")

    def test_post_gets_308(self):
        out = self.explain("-X", "POST", "http://example.com/login")
        self.assertEqual((out["status"], out["location"]), ("308", "https://example.com/login"))

    def test_proxied_request_names_route_upstream_cache_and_rate_limit(self):
        out = self.explain("-X", "POST", "-H", "Cookie: session=abc", "https://example.com/login")
        self.assertEqual(out["decision"], "proxy")
        self.assertEqual(out["route"], "login")
        self.assertEqual(out["upstream"], "web")
        self.assertEqual(out["upstream.servers"], "%s, %s" % (self.env["APP_A"], self.env["APP_B"]))
        self.assertEqual(out["upstream.balance"], "least_conn")
        self.assertEqual(out["cache"], "none")
        self.assertEqual(out["rate_limit"], "auth")
        self.assertEqual(out["rate_limit.auth.rate"], "10/1m")
        self.assertEqual(out["rate_limit.auth.burst"], "5")
        self.assertEqual(out["rate_limit.auth.key"], "client_ip")
        self.assertEqual(out["response_header.Strict-Transport-Security"],
                         "max-age=63072000; includeSubDomains")
        out = self.explain("https://example.com/assets/app.js?v=3")
        self.assertEqual((out["route"], out["cache"]), ("assets", "static"))
        self.assertEqual(out["cache.default_ttl"], "1h")
        self.assertEqual(out["cache.ignore_query_params"], "utm_source, utm_medium, utm_campaign")
        self.assertEqual(out["rate_limit"], "none")

    def test_staging_acme_unknown_host_and_host_header(self):
        out = self.explain("https://staging.example.com/")
        self.assertEqual(out["response_header.X-Robots-Tag"], "noindex, nofollow")
        out = self.explain("http://staging.example.com/.well-known/acme-challenge/t0k3n")
        self.assertEqual((out["decision"], out["route"]), ("proxy", "staging"))
        out = self.explain("https://evil.example.net/")
        self.assertEqual((out["decision"], out["status"], out["site"]), ("misdirected", "421", "none"))
        out = self.explain("-H", "Host: www.example.com", "http://127.0.0.1:8080/a")
        self.assertEqual(out["location"], "https://example.com/a")
        out = self.explain("https://api.example.com/nope")
        self.assertEqual((out["decision"], out["status"]), ("no_route", "404"))

    def test_json_output(self):
        r = run_edgegate("explain", "--json", "-c", LAUNCH, "http://example.com/blog/a?b",
                         env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["location"], "https://blog.example.com/a?b")
        self.assertEqual(list(out)[:3], ["request", "scheme", "host"])

    def test_bad_input_exits_1_or_2_with_a_message(self):
        self.assertIn("http:// or https://", self.explain("example.com/", rc=1))
        self.assertIn("refuse", self.explain("http://user@example.com/", rc=1))
        self.assertIn("refuse", self.explain("-X", "G@T", "http://example.com/", rc=1))
        self.assertIn("usage", self.explain(rc=2))
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as bad:
            bad.write("sites: [\n")
            bad.flush()
            err = self.explain("http://example.com/", config=bad.name, rc=1)
            self.assertRegex(err, re.escape(bad.name) + r":\d+:\d+: ")


class ExplainMatchesGatewayTest(EdgeTestCase):
    """What explain prints is what the running gateway answers."""

    def test_same_status_and_location(self):
        sites = [{"name": "shop", "hosts": ["shop.test", "www.shop.test"],
                  "canonical_host": "www.shop.test", "aliases": ["shop.test"],
                  "https_redirect": True, "https_port": 8443,
                  "redirects": [{"from": "/old", "to": "/new"},
                                {"from_prefix": "/b/", "to": "https://blog.test/", "status": 302}],
                  "routes": [route("default", prefix="/", methods=["GET"])]}]
        with Origin("explain-origin") as origin:
            cfg = make_config(origin, sites=sites)
            with Gateway(cfg) as gw:
                path = os.path.join(gw.dir, "edgegate.yaml")
                cases = [("GET", "shop.test", "/x?y=%20"), ("POST", "shop.test", "/x"),
                         ("GET", "www.shop.test", "/old?q"), ("HEAD", "shop.test", "/b/1"),
                         ("GET", "www.shop.test", "/.well-known/acme-challenge/t"),
                         ("PUT", "www.shop.test", "/"), ("GET", "nope.test", "/"),
                         ("GET", "localhost", "/echo")]
                for method, host, target in cases:
                    r = run_edgegate("explain", "-c", path, "-X", method,
                                     "http://%s:%d%s" % (host, gw.port, target))
                    self.assertEqual(r.returncode, 0, r.stderr)
                    lines = dict(l.split(": ", 1) for l in r.stdout.splitlines())
                    got = http(method, gw.url + target, headers={"Host": host})
                    want_status = {"proxy": None}.get(lines["decision"], lines.get("status"))
                    if want_status is None:
                        self.assertTrue(got.header("X-Origin"), (method, host, target, got))
                    else:
                        self.assertEqual(str(got.status), want_status, (method, host, target))
                    self.assertEqual(got.header("Location"), lines.get("location"),
                                     (method, host, target))


if __name__ == "__main__":
    unittest.main()
