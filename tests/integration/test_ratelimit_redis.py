"""Rate limits with `store: redis` against a real redis-server started on a free port: two
edgegate processes enforce one global limit, keys expire, NOSCRIPT is recovered, AUTH works,
and when Redis stops or stalls `on_error` decides quickly (counted as `error`) until it is back."""

import time

from harness import EdgeTestCase, Gateway, Origin, Redis, make_config, route, main

LOGIN = [route("login", path="/echo/login", methods=["POST"], rate_limit="auth"),
         route("default", prefix="/")]


def redis_config(origin, redis, policies=None, on_error="allow", timeout="50ms",
                 password_env=None):
    cfg = make_config(origin, routes=LOGIN, workers=2)
    rc = {"address": redis.addr, "timeout": timeout, "on_error": on_error}
    if password_env:
        rc["password_env"] = password_env
    cfg["rate_limits"] = {
        "store": "redis",
        "redis": rc,
        "policies": policies or {"auth": {"rate": "1/1h", "burst": 5, "key": "client_ip"}},
    }
    return cfg


def login(gw, headers=None):
    t0 = time.monotonic()
    r = gw.request("POST", "/echo/login", headers=headers, body=b"u=1")
    return r, time.monotonic() - t0


def decisions(gw, decision):
    return gw.metric("edgegate_ratelimit_decisions_total", policy="auth", decision=decision) or 0


class RedisRateLimitTest(EdgeTestCase):
    def test_two_gateways_share_one_limit(self):
        with Redis() as redis, Origin("rl") as o, \
                Gateway(redis_config(o, redis)) as gw1, Gateway(redis_config(o, redis)) as gw2:
            results = []
            for i in range(12):
                r, _ = login(gw1 if i % 2 == 0 else gw2)
                results.append(r)
            statuses = [r.status for r in results]
            self.assertEqual(statuses.count(200), 5, statuses)
            self.assertEqual(statuses, [200] * 5 + [429] * 7)
            self.assertEqual(decisions(gw1, "allowed") + decisions(gw2, "allowed"), 5)
            self.assertEqual(decisions(gw1, "limited") + decisions(gw2, "limited"), 7)
            self.assertEqual(decisions(gw1, "error") + decisions(gw2, "error"), 0)
            for i, r in enumerate(results):
                self.assertEqual(r.header("RateLimit-Policy"), '"auth";q=1;w=3600')
                if r.status == 200:
                    self.assertTrue(r.header("RateLimit").startswith('"auth";r=%d;' % (4 - i)),
                                    r.header("RateLimit"))
                else:
                    # 1/1h: the next token an hour after the first request, rounded up.
                    self.assertIn(r.header("Retry-After"), ("3600", "3599"))
                    self.assertErrorBody(r.status, r.headers, r.body, 429)
            # One bucket in Redis, under a hashed name, expiring when it would be full again.
            keys = redis.command("KEYS", "edgegate:rl:*")
            self.assertEqual(len(keys), 1, keys)
            self.assertRegex(keys[0], r"^edgegate:rl:[0-9a-f]{32}$")
            ttl = redis.command("PTTL", keys[0])
            self.assertGreater(ttl, 4 * 3600 * 1000)
            self.assertLessEqual(ttl, 5 * 3600 * 1000 + 1000)

    def test_noscript_is_recovered(self):
        with Redis() as redis, Origin("rl") as o, Gateway(redis_config(o, redis)) as gw:
            self.assertEqual(login(gw)[0].status, 200)
            self.assertEqual(redis.command("SCRIPT", "FLUSH"), "OK")
            self.assertEqual(login(gw)[0].status, 200)
            self.assertEqual(decisions(gw, "allowed"), 2)
            self.assertEqual(decisions(gw, "error"), 0)

    def test_auth_from_password_env(self):
        with Redis(password="s3cret-pw") as redis, Origin("rl") as o, \
                Gateway(redis_config(o, redis, password_env="RL_REDIS_PW"),
                        env={"RL_REDIS_PW": "s3cret-pw"}) as gw:
            statuses = [login(gw)[0].status for _ in range(6)]
            self.assertEqual(statuses, [200] * 5 + [429])
            self.assertEqual(decisions(gw, "error"), 0)

    def test_redis_down_allows_fast_then_recovers(self):
        with Redis() as redis, Origin("rl") as o, Gateway(redis_config(o, redis)) as gw:
            for _ in range(5):
                self.assertEqual(login(gw)[0].status, 200)
            self.assertEqual(login(gw)[0].status, 429)
            redis.stop()
            for _ in range(10):
                r, took = login(gw)
                self.assertEqual(r.status, 200)  # on_error: allow
                self.assertLess(took, 1.0, "a request stalled %.2fs on a dead Redis" % took)
                self.assertIsNotNone(r.header("RateLimit-Policy"))
                self.assertIsNone(r.header("RateLimit"))  # no numbers without Redis
            self.assertGreaterEqual(decisions(gw, "error"), 10)
            redis.start()  # same port, empty: the bucket starts full again
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if login(gw)[0].status == 429:
                    break
                time.sleep(0.1)
            else:
                self.fail("no 429 within 15 s of Redis coming back")

    def test_stalled_redis_times_out_and_deny_refuses(self):
        with Redis() as redis, Origin("rl") as o, \
                Gateway(redis_config(o, redis, on_error="deny", timeout="100ms")) as gw:
            self.assertEqual(login(gw)[0].status, 200)
            redis.pause()
            try:
                for _ in range(3):
                    r, took = login(gw)
                    self.assertErrorBody(r.status, r.headers, r.body, 503)
                    self.assertEqual(r.header("Retry-After"), "1")
                    self.assertGreaterEqual(took, 0.09)
                    self.assertLess(took, 1.0, "timeout 100ms took %.2fs" % took)
                self.assertGreaterEqual(decisions(gw, "error"), 3)
            finally:
                redis.resume()
            # The replies queued while it was stopped are ignored; new calls work again.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if login(gw)[0].status in (200, 429):
                    break
                time.sleep(0.1)
            else:
                self.fail("Redis decisions did not come back after SIGCONT")


    def test_reload_changes_policies_and_store(self):
        with Redis() as redis, Origin("rl") as o:
            cfg = redis_config(o, redis, policies={"auth": {"rate": "1/1h", "burst": 2}})
            cfg["rate_limits"]["store"] = "local"
            with Gateway(cfg) as gw:
                self.assertEqual([login(gw)[0].status for _ in range(3)], [200, 200, 429])
                # A bigger burst for the same policy: the bucket keeps what was spent.
                cfg["rate_limits"]["policies"]["auth"]["burst"] = 4
                gw.reload(cfg)
                gw.wait_reloads(1, result="success")
                self.assertEqual([login(gw)[0].status for _ in range(3)], [200, 200, 429])
                self.assertEqual(redis.command("KEYS", "edgegate:rl:*"), [])
                # Switched to Redis: a fresh bucket there, and the key appears in Redis.
                cfg["rate_limits"]["store"] = "redis"
                gw.reload(cfg)
                gw.wait_reloads(2, result="success")
                self.assertEqual([login(gw)[0].status for _ in range(5)], [200] * 4 + [429])
                self.assertEqual(len(redis.command("KEYS", "edgegate:rl:*")), 1)
                self.assertEqual(decisions(gw, "error"), 0)


if __name__ == "__main__":
    main()
