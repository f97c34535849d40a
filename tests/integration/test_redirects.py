"""Canonical host, HTTPS and www redirects, the redirect map, the response header policy and
header hygiene toward the origin, through the running gateway with curl (SPEC.md "Behaviour
users rely on": Hosts, Redirects; docs/configuration.md "sites").

One gateway serves a plain listener and a TLS listener (a throw-away CA made with the openssl
CLI, as test_tls.py does). Names resolve to 127.0.0.1 with curl --resolve."""

import json
import re
import unittest

from harness import EdgeTestCase, Gateway, Origin, curl, free_port, make_config, raw, route
from test_tls import Pki

PKI = None

# Sites of the test config (see setUpClass):
#   example: example.test (canonical), www.example.test + ::1 (aliases), app.example.test;
#            https_redirect, https_port = the TLS listener's port, HSTS, header policy, map
#   shop:    www.shop.test (canonical), shop.test (alias): apex -> www, no https_redirect,
#            https_port 443 (left out of Locations), redirect_status 302
#   api:     api.example.test: HSTS but no https_redirect (HSTS must stay off plain HTTP)
#   staging: staging.example.test: X-Robots-Tag: noindex
NAMES = ("example.test", "www.example.test", "app.example.test", "www.shop.test", "shop.test",
         "api.example.test", "staging.example.test", "evil.test")
HSTS = "max-age=31536000; includeSubDomains"


def setUpModule():
    global PKI
    PKI = Pki()


def tearDownModule():
    PKI.cleanup()


def header_lists(head_text):
    """{lower-case name: [values]} of the last response head in curl -D output."""
    blocks = [b for b in re.split(r"\r\n\r\n", head_text) if b.startswith("HTTP/")]
    lines = blocks[-1].split("\r\n")
    out = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        out.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split(" ")[1]), out


class RedirectsTest(EdgeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tls_port = free_port()
        cert = PKI.leaf("redirects", [n for n in NAMES if n != "evil.test"])
        cls.origin = cls.enterClassContext(Origin("redirects-origin"))
        headers = {"set": {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                           "Referrer-Policy": "strict-origin-when-cross-origin"},
                   "remove": ["Server", "X-Powered-By"]}
        routes = [route("echo", prefix="/echo"), route("default", prefix="/")]
        sites = [
            {"name": "example",
             "hosts": ["example.test", "www.example.test", "app.example.test", "::1"],
             "canonical_host": "example.test", "aliases": ["www.example.test", "::1"],
             "https_redirect": True, "https_port": cls.tls_port, "hsts": HSTS,
             "response_headers": headers,
             "redirects": [
                 {"from": "/spring-sale", "to": "/pricing"},
                 {"from": "/summer", "to": "/pricing?ref=summer", "status": 302},
                 {"from_prefix": "/blog/", "to": "https://blog.example.org/"},
                 {"from_prefix": "/docs/", "to": "/manual/", "status": 308}],
             # No catch-all for other methods: a POST to /pricing has no route (404).
             "routes": [route("pricing", path="/pricing", methods=["GET"]),
                        route("echo", prefix="/echo"),
                        route("pages", prefix="/", methods=["GET"])]},
            {"name": "shop", "hosts": ["www.shop.test", "shop.test"],
             "canonical_host": "www.shop.test", "aliases": ["shop.test"],
             "redirect_status": 302, "routes": routes},
            {"name": "api", "hosts": ["api.example.test"], "hsts": HSTS, "routes": routes},
            {"name": "staging", "hosts": ["staging.example.test"],
             "response_headers": {"set": {"X-Robots-Tag": "noindex, nofollow"}},
             "routes": routes},
        ]
        cfg = make_config(cls.origin, hosts=("localhost",), sites=sites)
        cfg["listeners"].append({"name": "https", "bind": "127.0.0.1:%d" % cls.tls_port,
                                 "tls": {"certificates": [cert]}})
        cls.gw = cls.enterClassContext(Gateway(cfg))

    # ------------------------------------------------------------------ helpers

    def fetch(self, url, *args):
        """curl one URL (names resolved to 127.0.0.1); (status, {name: [values]}, body)."""
        resolve = []
        for name in NAMES:
            resolve += ["--resolve", "%s:%d:127.0.0.1" % (name, self.gw.port),
                        "--resolve", "%s:%d:127.0.0.1" % (name, self.tls_port)]
        r = curl("--path-as-is", "--cacert", PKI.ca, "-D", "-", "-o", "/dev/null",
                 "-w", "\r\n\r\nnum_redirects=%{num_redirects}", *resolve, *args, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode("latin-1")
        status, headers = header_lists(text.rsplit("\r\n\r\nnum_redirects=", 1)[0])
        self.redirects_followed = int(text.rsplit("num_redirects=", 1)[1])
        return status, headers

    def http_url(self, host, path):
        return "http://%s:%d%s" % (host, self.gw.port, path)

    def https_url(self, host, path):
        return "https://%s:%d%s" % (host, self.tls_port, path)

    def assertRedirect(self, url, status, location, *args):
        got, h = self.fetch(url, *args)
        self.assertEqual((got, h.get("location")), (status, [location]), h)
        return h

    def raw_head(self, request, port=None):
        out = raw(port or self.gw.port, request.encode("latin-1"))
        head = out.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        status = int(head.split(" ", 2)[1])
        loc = re.search(r"(?im)^location: (.*)$", head)
        return status, loc.group(1).strip() if loc else None

    # ------------------------------------------------------------------ canonical redirects

    def test_www_to_apex_keeps_path_and_query_byte_for_byte(self):
        path = "/a%2Fb/%7Euser/caf%C3%A9?x=1&y=%20z&x=2"
        self.assertRedirect(self.https_url("www.example.test", path), 301,
                            "https://example.test:%d%s" % (self.tls_port, path))

    def test_apex_to_www_with_aliases_the_other_way(self):
        self.assertRedirect(self.http_url("shop.test", "/cart?id=7"), 302,
                            "http://www.shop.test/cart?id=7")
        # https_port 443 is not written into the Location.
        self.assertRedirect(self.https_url("shop.test", "/cart"), 302, "https://www.shop.test/cart")
        status, _ = self.fetch(self.http_url("www.shop.test", "/"))
        self.assertEqual(status, 200)

    def test_http_to_https_writes_a_port_other_than_443(self):
        self.assertRedirect(self.http_url("example.test", "/x?q=1"), 301,
                            "https://example.test:%d/x?q=1" % self.tls_port)
        # A host of the site that is no alias keeps its name.
        self.assertRedirect(self.http_url("app.example.test", "/x"), 301,
                            "https://app.example.test:%d/x" % self.tls_port)

    def test_alias_over_http_is_one_redirect_not_a_chain(self):
        self.assertRedirect(self.http_url("www.example.test", "/echo/one?a=b"), 301,
                            "https://example.test:%d/echo/one?a=b" % self.tls_port)
        status, _ = self.fetch(self.http_url("www.example.test", "/echo/one?a=b"), "-L")
        self.assertEqual(status, 200)
        self.assertEqual(self.redirects_followed, 1)

    def test_other_methods_get_308_and_keep_their_body(self):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            self.assertRedirect(self.http_url("www.example.test", "/echo"), 308,
                                "https://example.test:%d/echo" % self.tls_port, "-X", method)
        self.assertRedirect(self.http_url("www.example.test", "/echo"), 301,
                            "https://example.test:%d/echo" % self.tls_port, "-I")
        # curl follows a 308 with the same method and body.
        r = curl("--cacert", PKI.ca, "-L", "--data-binary", "payload",
                 "--resolve", "www.example.test:%d:127.0.0.1" % self.gw.port,
                 "--resolve", "example.test:%d:127.0.0.1" % self.tls_port,
                 self.http_url("www.example.test", "/echo"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'"method":"POST"', r.stdout)
        self.assertIn(b'"body_head":"payload"', r.stdout)

    def test_acme_challenges_are_not_redirected(self):
        for url in (self.http_url("example.test", "/.well-known/acme-challenge/t0k3n"),
                    self.http_url("www.example.test", "/.well-known/acme-challenge/t0k3n")):
            status, h = self.fetch(url)
            self.assertEqual(status, 404, h)  # the origin's answer, not a redirect
            self.assertEqual(h.get("x-origin"), ["redirects-origin"], h)
            self.assertNotIn("location", h)
        self.assertRedirect(self.http_url("example.test", "/.well-known/other"), 301,
                            "https://example.test:%d/.well-known/other" % self.tls_port)

    # ------------------------------------------------------------------ hosts and open redirects

    def test_unknown_host_is_421_without_location(self):
        status, h = self.fetch(self.http_url("evil.test", "/"))
        self.assertEqual(status, 421)
        self.assertNotIn("location", h)

    def test_host_spellings_redirect_to_the_configured_host(self):
        for host in ("WWW.Example.TEST", "www.example.test.", "www.example.test:1234",
                     "www.example.test.:80", "[::1]:8080", "[::1]"):
            status, loc = self.raw_head("GET /p?q HTTP/1.1\r\nHost: %s\r\n\r\n" % host)
            self.assertEqual((status, loc), (301, "https://example.test:%d/p?q" % self.tls_port),
                             host)

    def test_absolute_form_target_wins_over_host_and_never_opens_a_redirect(self):
        # RFC 9112 3.2.2: the target's authority is the host; an unknown one is 421.
        status, loc = self.raw_head(
            "GET http://evil.test/x HTTP/1.1\r\nHost: www.example.test\r\n\r\n")
        self.assertEqual((status, loc), (421, None))
        status, loc = self.raw_head(
            "GET http://www.example.test/x?y HTTP/1.1\r\nHost: evil.test\r\n\r\n")
        self.assertEqual((status, loc), (301, "https://example.test:%d/x?y" % self.tls_port))
        # Path tricks stay in the path: the Location's host is always the config's.
        for target in ("//evil.test/", "/\\evil.test", "/.evil.test", "/%2F%2Fevil.test"):
            status, loc = self.raw_head("GET %s HTTP/1.1\r\nHost: www.example.test\r\n\r\n"
                                        % target)
            self.assertEqual(status, 301, target)
            self.assertEqual(loc, "https://example.test:%d%s" % (self.tls_port, target))
        # Forwarding headers do not choose the redirect's host either.
        status, loc = self.raw_head("GET /a HTTP/1.1\r\nHost: www.example.test\r\n"
                                    "X-Forwarded-Host: evil.test\r\nForwarded: host=evil.test\r\n"
                                    "\r\n")
        self.assertEqual(loc, "https://example.test:%d/a" % self.tls_port)

    # ------------------------------------------------------------------ redirect map

    def test_campaign_map_exact_and_prefix(self):
        self.assertRedirect(self.https_url("example.test", "/spring-sale?utm_source=mail&x=%2B"),
                            301, "/pricing?utm_source=mail&x=%2B")
        self.assertRedirect(self.https_url("example.test", "/summer?a=1"), 302,
                            "/pricing?ref=summer&a=1")
        self.assertRedirect(self.https_url("example.test", "/blog/2020/a%2Fb%20c?q=%E2%9C%93"),
                            301, "https://blog.example.org/2020/a%2Fb%20c?q=%E2%9C%93")
        self.assertRedirect(self.https_url("example.test", "/docs/v1/intro"), 308,
                            "/manual/v1/intro")
        # Exact means exact; the map is not case-folded or decoded.
        for path in ("/spring-sale/", "/Spring-Sale", "/spring%2Dsale"):
            status, h = self.fetch(self.https_url("example.test", path))
            self.assertEqual(status, 404, path)
            self.assertEqual(h.get("x-origin"), ["redirects-origin"], path)
        # The map runs before routing: /pricing has only a GET route, a POST is still mapped.
        self.assertRedirect(self.https_url("example.test", "/spring-sale"), 308, "/pricing",
                            "-X", "POST")

    def test_campaign_url_on_the_alias_over_http_is_one_hop(self):
        self.assertRedirect(self.http_url("www.example.test", "/spring-sale?utm_source=x"), 301,
                            "https://example.test:%d/pricing?utm_source=x" % self.tls_port)
        self.assertRedirect(self.http_url("www.example.test", "/blog/a"), 301,
                            "https://blog.example.org/a")
        # Followed: one hop, then the origin itself answers (it has no /pricing: 404).
        status, h = self.fetch(self.http_url("www.example.test", "/spring-sale"), "-L")
        self.assertEqual((status, self.redirects_followed), (404, 1))
        self.assertEqual(h.get("x-origin"), ["redirects-origin"], h)

    def test_no_route_is_404_after_the_map(self):
        status, _ = self.fetch(self.https_url("example.test", "/pricing"), "-X", "POST")
        self.assertEqual(status, 404)

    # ------------------------------------------------------------------ response headers

    def test_hsts_on_https_only(self):
        _, h = self.fetch(self.https_url("example.test", "/"))
        self.assertEqual(h.get("strict-transport-security"), [HSTS])
        # HTTPS redirects and edgegate's own errors carry it too.
        _, h = self.fetch(self.https_url("www.example.test", "/"))
        self.assertEqual(h.get("strict-transport-security"), [HSTS])
        _, h = self.fetch(self.https_url("example.test", "/pricing"), "-X", "POST")
        self.assertEqual(h.get("strict-transport-security"), [HSTS])
        # Plain HTTP: never, on a redirect or on a served page.
        _, h = self.fetch(self.http_url("example.test", "/"))
        self.assertNotIn("strict-transport-security", h)
        status, h = self.fetch(self.http_url("api.example.test", "/"))
        self.assertEqual(status, 200)
        self.assertNotIn("strict-transport-security", h)
        _, h = self.fetch(self.https_url("api.example.test", "/"))
        self.assertEqual(h.get("strict-transport-security"), [HSTS])

    def test_set_headers_replace_the_origins_and_server_is_removed(self):
        path = ("/status/200?X-Frame-Options=SAMEORIGIN&x-content-type-options=none"
                "&Server=gunicorn&X-Powered-By=PHP%2F8&X-Kept=yes"
                "&Strict-Transport-Security=max-age%3D1")
        status, h = self.fetch(self.https_url("example.test", path))
        self.assertEqual(status, 200, h)
        self.assertEqual(h.get("x-frame-options"), ["DENY"])
        self.assertEqual(h.get("x-content-type-options"), ["nosniff"])
        self.assertEqual(h.get("referrer-policy"), ["strict-origin-when-cross-origin"])
        self.assertEqual(h.get("strict-transport-security"), [HSTS])
        self.assertNotIn("server", h)
        self.assertNotIn("x-powered-by", h)
        self.assertEqual(h.get("x-kept"), ["yes"])

    def test_staging_site_is_noindex(self):
        for url in (self.http_url("staging.example.test", "/"),
                    self.http_url("staging.example.test", "/nope")):
            _, h = self.fetch(url)
            self.assertEqual(h.get("x-robots-tag"), ["noindex, nofollow"], url)
        _, h = self.fetch(self.http_url("api.example.test", "/"))
        self.assertNotIn("x-robots-tag", h)

    # ------------------------------------------------------------------ hygiene toward the origin

    def test_client_forwarding_and_rewrite_headers_do_not_reach_the_origin(self):
        r = curl("-H", "X-Forwarded-Host: evil.test", "-H", "X-Forwarded-Proto: https",
                 "-H", "X-Forwarded-For: 203.0.113.9", "-H", "Forwarded: for=203.0.113.9;proto=https",
                 "-H", "X-Original-URL: /admin", "-H", "X-Rewrite-URL: /admin",
                 "-H", "x-forwarded-host: evil2.test",
                 "--resolve", "api.example.test:%d:127.0.0.1" % self.gw.port,
                 self.http_url("api.example.test", "/echo"))
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = json.loads(r.stdout)
        seen = {}
        for name, value in echo["headers"]:
            seen.setdefault(name.lower(), []).append(value)
        self.assertEqual(seen.get("x-forwarded-host"), ["api.example.test:%d" % self.gw.port])
        self.assertEqual(seen.get("x-forwarded-proto"), ["http"])
        self.assertEqual(seen.get("x-forwarded-for"), ["127.0.0.1"])
        for name in ("forwarded", "x-original-url", "x-rewrite-url"):
            self.assertNotIn(name, seen)
        self.assertEqual(echo["path"], "/echo")

    def test_absolute_form_authority_is_the_host_the_origin_sees(self):
        out = raw(self.gw.port, b"GET http://API.example.test/echo?a=1 HTTP/1.1\r\n"
                                b"Host: staging.example.test\r\nConnection: close\r\n\r\n")
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertIn(b" 200 ", head.split(b"\r\n")[0])
        self.assertNotIn(b"x-robots-tag", head.lower())  # the staging site was not chosen
        echo = json.loads(body)
        seen = {name.lower(): value for name, value in echo["headers"]}
        self.assertEqual(seen.get("host"), "API.example.test")
        self.assertEqual(seen.get("x-forwarded-host"), "API.example.test")
        self.assertEqual(echo["target"], "/echo?a=1")  # origin-form toward the origin


if __name__ == "__main__":
    unittest.main()
