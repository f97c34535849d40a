"""The HTTP cache through the running gateway: hits, Age and Cache-Status; keys without ignored
query parameters; safe by default (Authorization, session cookies, Set-Cookie, private,
no-store, Vary: *, web cache deception) and `public` / `s-maxage` overriding it; request
collapsing; 304s from fresh entries and conditional revalidation of stale ones;
stale-while-revalidate and stale-if-error; unsafe methods invalidating; Vary variants; Range
and HEAD answered from stored GETs; max_object; purge by URL, prefix and tag; memory within
cache.memory under a flood of distinct URLs; metrics and the access log's cache field."""

import concurrent.futures
import json
import os
import time
import unittest
import urllib.parse

from harness import (EdgeTestCase, Gateway, Origin, http, make_config, route, wait_for, main)

MiB = 1024 * 1024


def cache_config(origin, memory="8MiB", max_object="256KiB", **kw):
    routes = [
        route("static", prefix="/set/s/", cache="static"),
        route("pages", prefix="/set/p/", cache="pages"),
        route("errors", prefix="/set/e/", cache="errors"),
        route("status", prefix="/status/", cache="pages"),
        route("default", prefix="/"),
    ]
    cfg = make_config(origin, routes=routes, admin_token_env="EDGEGATE_TEST_TOKEN", **kw)
    cfg["cache"] = {
        "memory": memory,
        "max_object": max_object,
        "session_cookies": ["session", "sid"],
        "policies": {
            "static": {"default_ttl": "1h", "max_ttl": "1d",
                       "ignore_query_params": ["utm_source", "gclid"]},
            "pages": {"default_ttl": "0s"},
            "errors": {"default_ttl": "0s", "stale_if_error": "60s"},
        },
    }
    return cfg


TOKEN = "test-token-123"


def set_url(path, **headers):
    """/set/... with response headers given as query parameters."""
    q = urllib.parse.urlencode([(k.replace("_", "-") if not k.startswith("_") else k, v)
                                for k, v in headers.items()])
    return path + ("?" + q if q else "")


class CacheTest(EdgeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin("o1", threads=2).start()
        cls.gw = Gateway(cache_config(cls.origin, access_log="@TMP@/access.log"),
                         env={"EDGEGATE_TEST_TOKEN": TOKEN}).start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.gw.cleanup(failed=False)  # its directory (a failing test printed its logs)
        cls.origin.stop()

    def count(self, path):
        return self.origin.get("/count?path=" + urllib.parse.quote(path)).json()["requests"]

    def get(self, target, headers=None):
        return self.gw.get(target, headers=headers)

    def purge(self, body):
        return http("POST", "http://127.0.0.1:%d/cache/purge" % self.gw.admin_port,
                    headers={"Authorization": "Bearer " + TOKEN,
                             "Content-Type": "application/json"},
                    body=json.dumps(body))

    # ----------------------------------------------------------------- store and freshness

    def test_miss_then_hit_with_age_and_cache_status(self):
        u = set_url("/set/p/basic", Cache_Control="max-age=60")
        r1 = self.get(u)
        self.assertEqual(r1.status, 200)
        self.assertEqual(r1.header("Cache-Status"), "edgegate; fwd=uri-miss; stored")
        r2 = self.get(u)
        self.assertEqual(r2.status, 200)
        self.assertEqual(r2.body, r1.body)
        self.assertRegex(r2.header("Cache-Status"), r"^edgegate; hit; ttl=(59|60)$")
        self.assertIn(r2.header("Age"), ("0", "1"))
        self.assertEqual(self.count("/set/p/basic"), 1)

    def test_age_grows_and_expiry_goes_to_origin(self):
        u = set_url("/set/p/expiry", Cache_Control="max-age=1")
        self.get(u)
        time.sleep(2.1)
        r = self.get(u)
        self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=stale; fwd-status=200; stored")
        self.assertEqual(self.count("/set/p/expiry"), 2)

    def test_policy_default_ttl_and_ignored_query_params(self):
        self.get("/set/s/ignored?a=1&utm_source=news")
        r = self.get("/set/s/ignored?a=1&gclid=xyz")
        self.assertRegex(r.header("Cache-Status"), r"^edgegate; hit; ttl=3[56]\d\d$")
        r = self.get("/set/s/ignored?a=2")
        self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=uri-miss; stored")
        self.assertEqual(self.count("/set/s/ignored"), 2)

    def test_pages_without_freshness_are_not_stored(self):
        u = "/set/p/nofresh"
        r = self.get(u)
        self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=uri-miss; detail=ttl")
        self.get(u)
        self.assertEqual(self.count(u), 2)

    def test_request_directives(self):
        u = set_url("/set/p/reqdir", Cache_Control="max-age=60")
        r = self.get(u, headers={"Cache-Control": "only-if-cached"})
        self.assertEqual(r.status, 504)
        self.get(u)
        r = self.get(u, headers={"Cache-Control": "no-cache"})
        self.assertTrue(r.header("Cache-Status").startswith("edgegate; fwd=request"),
                        r.header("Cache-Status"))
        r = self.get(u, headers={"Cache-Control": "min-fresh=3600"})
        self.assertNotIn("hit", r.header("Cache-Status"))
        r = self.get(u, headers={"Cache-Control": "only-if-cached"})
        self.assertEqual(r.status, 200)
        self.assertIn("hit", r.header("Cache-Status"))
        self.assertEqual(self.count("/set/p/reqdir"), 3)

    # ----------------------------------------------------------------- safe by default

    def test_authenticated_request_never_gets_a_stored_page(self):
        u = set_url("/set/p/dash", Cache_Control="max-age=60", X_User="anonymous")
        self.get(u)  # stored for anonymous visitors
        self.assertIn("hit", self.get(u).header("Cache-Status"))
        for h in ({"Authorization": "Bearer abc"}, {"Cookie": "theme=dark; session=s3cr3t"},
                  {"Cookie": "sid=1"}):
            r = self.get(u, headers=h)
            self.assertEqual(r.header("Cache-Status"),
                             "edgegate; fwd=bypass; detail=authenticated", h)
        self.assertEqual(self.count("/set/p/dash"), 4)
        # A cookie that is not a session cookie is no reason to bypass.
        self.assertIn("hit", self.get(u, headers={"Cookie": "theme=dark"}).header("Cache-Status"))

    def test_authenticated_response_is_never_stored(self):
        u = set_url("/set/p/mine", Cache_Control="max-age=60", X_User="alice")
        r = self.get(u, headers={"Authorization": "Bearer alice"})
        self.assertEqual(r.header("X-User"), "alice")
        r = self.get(u)
        self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=uri-miss; stored")
        self.assertEqual(self.count("/set/p/mine"), 2)

    def test_public_and_s_maxage_override(self):
        for name, cc in (("pub", "public, max-age=60"), ("smax", "s-maxage=60")):
            u = set_url("/set/p/" + name, Cache_Control=cc)
            r = self.get(u, headers={"Authorization": "Bearer x"})
            self.assertEqual(r.header("Cache-Status"),
                             "edgegate; fwd=bypass; stored; detail=authenticated")
            r = self.get(u)
            self.assertIn("; hit;", r.header("Cache-Status") + ";")
            self.assertEqual(self.count("/set/p/" + name), 1)

    def test_responses_that_are_never_stored(self):
        cases = {
            "setcookie": ({"Set_Cookie": "a=b"}, "set-cookie"),
            "private": ({"Cache_Control": "private, max-age=60"}, "private"),
            "nostore": ({"Cache_Control": "no-store, max-age=60"}, "no-store"),
            "varystar": ({"Vary": "*"}, "vary"),
        }
        for name, (headers, reason) in cases.items():
            h = {"Cache_Control": "max-age=60"}
            h.update(headers)
            u = set_url("/set/p/never-" + name, **h)
            r = self.get(u)
            self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=uri-miss; detail=" + reason)
            self.get(u)
            self.assertEqual(self.count("/set/p/never-" + name), 2, name)

    def test_web_cache_deception(self):
        u = set_url("/set/s/account.css", Content_Type="text/html; charset=utf-8")
        r = self.get(u)
        self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=uri-miss; detail=content-type")
        self.get(u)
        self.assertEqual(self.count("/set/s/account.css"), 2)
        ok = set_url("/set/s/real.css", Content_Type="text/css")
        self.get(ok)
        self.assertIn("hit", self.get(ok).header("Cache-Status"))

    def test_unkeyed_forwarded_host_never_reaches_origin(self):
        r = self.get("/echo/x", headers={"X-Forwarded-Host": "evil.example"})
        names = {k.lower(): v for k, v in r.json()["headers"]}
        self.assertNotEqual(names.get("x-forwarded-host"), "evil.example")

    # ----------------------------------------------------------------- collapsing

    def test_100_concurrent_misses_send_one_origin_request(self):
        u = set_url("/set/p/collapse", Cache_Control="max-age=60", _delay_ms="800")
        with concurrent.futures.ThreadPoolExecutor(100) as pool:
            rs = list(pool.map(lambda _: self.get(u, headers={"Connection": "close"}),
                               range(100)))
        self.assertEqual([r.status for r in rs], [200] * 100)
        self.assertEqual(self.count("/set/p/collapse"), 1)
        statuses = sorted(r.header("Cache-Status") for r in rs)
        self.assertEqual(statuses.count("edgegate; fwd=uri-miss; stored"), 1, statuses[:3])
        self.assertTrue(all(s.startswith("edgegate; hit") for s in statuses
                            if "fwd" not in s))
        collapsed = [s for s in statuses if "detail=collapsed" in s]
        self.assertGreater(len(collapsed), 50)

    def test_uncacheable_collapsed_misses_each_go_to_origin(self):
        u = set_url("/set/p/collapse-private", Cache_Control="private", _delay_ms="300")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            rs = list(pool.map(lambda _: self.get(u), range(8)))
        self.assertEqual([r.status for r in rs], [200] * 8)
        self.assertEqual(self.count("/set/p/collapse-private"), 8)

    # ----------------------------------------------------------------- validation, stale

    def test_304_from_a_fresh_entry(self):
        u = set_url("/set/p/etag", Cache_Control="max-age=60", ETag='"v1"',
                    Last_Modified="Sun, 06 Nov 1994 08:49:37 GMT")
        self.get(u)
        r = self.get(u, headers={"If-None-Match": '"v0", "v1"'})
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("ETag"), '"v1"')
        self.assertIn("hit", r.header("Cache-Status"))
        r = self.get(u, headers={"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"})
        self.assertEqual(r.status, 304)
        r = self.get(u, headers={"If-None-Match": '"other"'})
        self.assertEqual(r.status, 200)
        self.assertEqual(self.count("/set/p/etag"), 1)

    def test_stale_entry_revalidated_with_a_conditional_request(self):
        u = set_url("/set/p/reval", Cache_Control="max-age=1", ETag='"r1"')
        first = self.get(u)
        time.sleep(2.1)
        r = self.get(u)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, first.body)
        self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=stale; fwd-status=304; stored")
        # The 304 refreshed the entry: fresh again.
        self.assertIn("hit", self.get(u).header("Cache-Status"))
        self.assertEqual(self.count("/set/p/reval"), 2)

    def test_stale_while_revalidate_refreshes_in_the_background(self):
        # max-age=3: the refreshed entry must stay fresh while the checks below
        # run (with max-age=1 a slow ASan run saw it go stale and refresh again).
        u = set_url("/set/s/swr", Cache_Control="max-age=3, stale-while-revalidate=30")
        self.get(u)
        time.sleep(4.1)  # stale by a whole second: Cache-Status says ttl=-1
        t0 = time.monotonic()
        r = self.get(u)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertRegex(r.header("Cache-Status"),
                         r"^edgegate; hit; ttl=-\d+; detail=stale-while-revalidate$")
        wait_for(lambda: self.count("/set/s/swr") == 2, 5, what="the background refresh")
        wait_for(lambda: "; hit; ttl=" in self.get(u).header("Cache-Status")
                 and "stale" not in self.get(u).header("Cache-Status"), 5, what="a fresh hit")
        self.assertEqual(self.count("/set/s/swr"), 2)

    # ----------------------------------------------------------------- invalidation, variants

    def test_unsafe_method_invalidates(self):
        u = set_url("/set/p/inval", Cache_Control="max-age=60")
        self.get(u)
        self.assertIn("hit", self.get(u).header("Cache-Status"))
        r = self.gw.request("POST", u, body=b"x=1")
        self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=bypass; detail=method")
        self.assertEqual(self.get(u).header("Cache-Status"), "edgegate; fwd=uri-miss; stored")

    def test_unsafe_method_invalidates_location_on_the_same_host(self):
        target = set_url("/set/p/loc-target", Cache_Control="max-age=60")
        other = set_url("/set/p/loc-other", Cache_Control="max-age=60")
        for u in (target, other):
            self.get(u)
            self.assertIn("hit", self.get(u).header("Cache-Status"))
        r = self.gw.request("PUT", set_url("/set/p/loc-put", Location=target,
                                           Content_Location="http://elsewhere.test" + other),
                            body=b"x")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.get(target).header("Cache-Status"),
                         "edgegate; fwd=uri-miss; stored")
        # Another host's URL is not this host's to invalidate.
        self.assertIn("hit", self.get(other).header("Cache-Status"))
        # An error answer invalidates nothing.
        self.assertIn("hit", self.get(target).header("Cache-Status"))
        r = self.gw.request("DELETE", "/status/500?Location=" + urllib.parse.quote(target))
        self.assertEqual(r.status, 500)
        self.assertIn("hit", self.get(target).header("Cache-Status"))
        self.assertIn("hit", self.get(target).header("Cache-Status"))

    def test_vary_variants(self):
        u = set_url("/set/p/vary", Cache_Control="max-age=60", Vary="Accept-Encoding")
        self.get(u, headers={"Accept-Encoding": "gzip, br"})
        r = self.get(u, headers={"Accept-Encoding": "br,gzip"})
        self.assertIn("hit", r.header("Cache-Status"))
        r = self.get(u, headers={"Accept-Encoding": "identity"})
        self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=vary-miss; stored")
        self.assertIn("hit", self.get(u, headers={"Accept-Encoding": "identity"})
                      .header("Cache-Status"))
        self.assertEqual(self.count("/set/p/vary"), 2)

    # ----------------------------------------------------------------- range, head, size

    def test_range_from_a_stored_object(self):
        u = "/set/s/range?_bytes=1000"
        full = self.get(u).body
        self.assertEqual(len(full), 1000)
        r = self.get(u, headers={"Range": "bytes=10-19"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.header("Content-Range"), "bytes 10-19/1000")
        self.assertEqual(r.body, full[10:20])
        r = self.get(u, headers={"Range": "bytes=-5"})
        self.assertEqual((r.status, r.body), (206, full[-5:]))
        r = self.get(u, headers={"Range": "bytes=5000-"})
        self.assertEqual(r.status, 416)
        self.assertEqual(r.header("Content-Range"), "bytes */1000")
        self.assertEqual(self.count("/set/s/range"), 1)

    def test_range_on_a_miss_stores_the_whole_object(self):
        u = "/set/s/range-miss?_bytes=500"
        r = self.get(u, headers={"Range": "bytes=0-9"})
        self.assertIn(r.status, (200, 206))
        r = self.get(u, headers={"Range": "bytes=0-9"})
        self.assertEqual((r.status, len(r.body)), (206, 10))

    def test_head_answered_from_the_get_entry(self):
        u = "/set/s/head?_bytes=300"
        self.get(u)
        r = self.gw.request("HEAD", u)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Length"), "300")
        self.assertEqual(r.body, b"")
        self.assertIn("hit", r.header("Cache-Status"))
        self.assertEqual(self.count("/set/s/head"), 1)

    def test_objects_over_max_object_stream_but_are_not_kept(self):
        u = "/set/s/big?_bytes=400000"
        r = self.get(u)
        self.assertEqual(r.header("Cache-Status"), "edgegate; fwd=uri-miss; detail=size")
        self.assertEqual(len(r.body), 400000)
        self.assertEqual(len(self.get(u).body), 400000)
        self.assertEqual(self.count("/set/s/big"), 2)

    # ----------------------------------------------------------------- purge

    def test_purge_by_url_prefix_and_tag(self):
        base = "http://localhost:%d" % self.gw.port
        us = {
            "a": set_url("/set/s/purge/a", Cache_Tag="t1, t2"),
            "b": set_url("/set/s/purge/b", Surrogate_Key="t2 t3"),
            "c": set_url("/set/s/purge-other/c"),
        }
        def fill():
            for u in us.values():
                self.get(u)
        fill()
        r = self.purge({"url": base + us["a"] + "&utm_source=x"})
        self.assertEqual((r.status, r.json()), (200, {"purged": 1}))
        self.assertIn("fwd=uri-miss", self.get(us["a"]).header("Cache-Status"))
        r = self.purge({"tag": "t2"})
        self.assertEqual(r.json(), {"purged": 2})
        fill()
        r = self.purge({"prefix": base + "/set/s/purge/"})
        self.assertEqual(r.json(), {"purged": 2})
        self.assertIn("hit", self.get(us["c"]).header("Cache-Status"))
        self.assertEqual(self.purge({"nope": 1}).status, 400)
        self.assertEqual(self.purge({"url": ""}).status, 400)
        r = http("POST", "http://127.0.0.1:%d/cache/purge" % self.gw.admin_port,
                 body=json.dumps({"tag": "t1"}))
        self.assertEqual(r.status, 401)

    # ----------------------------------------------------------------- visibility

    def test_metrics_and_access_log(self):
        u = set_url("/set/p/metrics", Cache_Control="max-age=60")
        self.get(u)
        self.get(u)
        wait_for(lambda: (self.gw.metric("edgegate_cache_requests_total", policy="pages",
                                         result="hit") or 0) >= 1, 5, what="the hit counter")
        self.assertGreaterEqual(self.gw.metric("edgegate_cache_requests_total", policy="pages",
                                               result="miss"), 1)
        self.assertGreater(self.gw.metric("edgegate_cache_objects"), 0)
        self.assertGreater(self.gw.metric("edgegate_cache_bytes"), 0)
        rows = {x["route"]: x for x in self.gw.admin_get("/status.json").json()["routes"]}
        self.assertGreater(rows["pages"]["cache_hit_ratio"], 0)
        self.assertLess(rows["pages"]["cache_hit_ratio"], 1)
        path = os.path.join(self.gw.dir, "access.log")

        def logged():
            if not os.path.exists(path):
                return []
            with open(path) as f:
                return [json.loads(l) for l in f if "/set/p/metrics" in l]
        wait_for(lambda: len(logged()) >= 2, 5, what="access log lines")
        # Two workers write their lines in their own order.
        self.assertEqual(sorted(e["cache"] for e in logged()[:2]), ["hit", "miss"])


class CacheMemoryTest(EdgeTestCase):
    def test_memory_stays_within_cache_memory_under_a_flood(self):
        with Origin("o2", threads=2) as origin:
            cfg = cache_config(origin, memory="1MiB", max_object="64KiB")
            with Gateway(cfg, env={"EDGEGATE_TEST_TOKEN": TOKEN}) as gw:
                def one(i):
                    return gw.get("/set/s/flood/%d?_bytes=16384" % i).status
                with concurrent.futures.ThreadPoolExecutor(8) as pool:
                    codes = list(pool.map(one, range(400)))
                self.assertEqual(codes, [200] * 400)
                self.assertLessEqual(gw.metric("edgegate_cache_bytes"), MiB)
                self.assertGreater(gw.metric("edgegate_cache_evictions_total"), 0)
                self.assertGreater(gw.metric("edgegate_cache_objects"), 10)


class StaleIfErrorTest(EdgeTestCase):
    def test_stale_served_while_the_origin_is_stopped(self):
        origin = Origin("o3").start()
        try:
            cfg = cache_config(origin, upstream={"retries": 0, "connect_timeout": "1s"})
            with Gateway(cfg, env={"EDGEGATE_TEST_TOKEN": TOKEN}) as gw:
                u = set_url("/set/e/sie", Cache_Control="max-age=1")
                first = gw.get(u)
                self.assertEqual(first.status, 200)
                origin.stop()
                time.sleep(2.1)
                r = gw.get(u)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, first.body)
                self.assertRegex(r.header("Cache-Status"),
                                 r"^edgegate; fwd=stale; fwd-status=50\d; ttl=-\d+; "
                                 r"detail=stale-if-error$")
                # Without stale_if_error (pages), the error goes through.
                r = gw.get(set_url("/set/p/gone", Cache_Control="max-age=60"))
                self.assertEqual(r.status, 502)
        finally:
            origin.stop()


if __name__ == "__main__":
    main()
