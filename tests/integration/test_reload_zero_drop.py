"""Zero-drop reload: under constant keep-alive and fresh-connection load (plain and TLS),
20 reloads that each change the routes, an upstream and the certificate fail no request
and reset no connection; a broken file or a port in use changes nothing; a listener is
added, then removed while traffic flows, its keep-alive clients told `Connection: close`.
The counts are printed."""

import copy
import os
import socket
import ssl
import time
import unittest

from harness import (EdgeTestCase, Gateway, Load, Origin, free_port, http, make_config,
                     read_response, route, wait_for)
from test_tls import Pki

RELOADS = 20


def served_certificate(port):
    return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(
        ssl.get_server_certificate(("127.0.0.1", port))))


def normalized(path):
    with open(path) as f:
        return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(f.read()))


class ReloadUnderLoadTest(EdgeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.certs = [cls.pki.leaf("one", ["localhost"]), cls.pki.leaf("two", ["localhost"])]
        cls.a = cls.enterClassContext(Origin("rl-a"))
        cls.b = cls.enterClassContext(Origin("rl-b"))

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()

    def config(self, i, tls_port):
        cfg = make_config([self.a] if i % 2 == 0 else [self.a, self.b],
                          upstream={"retries": 1})
        cfg["sites"][0]["routes"].insert(0, route("r%d" % i, path="/r%d" % i))
        cfg["listeners"].append({"name": "https", "bind": "127.0.0.1:%d" % tls_port,
                                 "tls": {"certificates": [self.certs[i % 2]]}})
        return cfg

    def test_twenty_reloads_under_load(self):
        tls_port = free_port()
        cfg = self.config(0, tls_port)
        gw = self.enterContext(Gateway(cfg))
        cfg["server"]["admin"]["bind"] = "127.0.0.1:%d" % gw.admin_port
        with Load(gw.port, keepalive=2, fresh=2) as plain, \
                Load(tls_port, keepalive=1, fresh=1, tls=True) as tls:
            wait_for(lambda: plain.total() > 20 and tls.total() > 5, 10, what="load running")
            for i in range(1, RELOADS + 1):
                nxt = self.config(i, tls_port)
                nxt["listeners"][0] = cfg["listeners"][0]
                nxt["server"]["admin"] = cfg["server"]["admin"]
                gw.reload(nxt)
                gw.wait_reloads(i, result="success", timeout=10)
                time.sleep(0.15)
            time.sleep(0.3)
        print("plain listener during %d reloads: %s" % (RELOADS, plain.summary()))
        print("TLS listener during %d reloads: %s" % (RELOADS, tls.summary()))
        for load in (plain, tls):
            self.assertEqual((load.failed, load.resets), (0, 0), load.summary())
        self.assertGreater(plain.ok, 100)
        self.assertGreater(tls.ok, 10)
        self.assertEqual(gw.reload_count("failure"), 0)
        # The last configuration is the one serving.
        gw.get("/r%d" % RELOADS)
        wait_for(lambda: gw.metric("edgegate_requests_total", route="r%d" % RELOADS), 5,
                 what="a request counted on the route of the last reload")
        self.assertEqual(served_certificate(tls_port), normalized(self.certs[RELOADS % 2]["cert"]))
        seen = {gw.get("/").header("X-Origin") for _ in range(6)}
        self.assertEqual(seen, {"rl-a"} if RELOADS % 2 == 0 else {"rl-a", "rl-b"})


class FailedReloadTest(EdgeTestCase):
    def test_broken_file_keeps_serving(self):
        a = self.enterContext(Origin("rf-a"))
        cfg = make_config([a])
        gw = self.enterContext(Gateway(cfg))
        with Load(gw.port, keepalive=2, fresh=1) as load:
            wait_for(lambda: load.total() > 20, 10, what="load running")
            with open(gw.config_path, "w") as f:
                f.write("listeners: [\n  this is not yaml")
            gw.reload()
            gw.wait_reloads(1, result="failure")
            r = gw.admin_request("POST", "/reload")
            self.assertEqual(r.status, 422)
            body = r.json()
            self.assertFalse(body["ok"])
            self.assertTrue(body["errors"], body)
            print("POST /reload with a broken file: %s" % body["errors"][0])
            time.sleep(0.3)
        print("during two failed reloads: %s" % load.summary())
        self.assertEqual((load.failed, load.resets), (0, 0), load.summary())
        self.assertEqual(gw.reload_count("failure"), 2)
        self.assertEqual(gw.reload_count("success"), 0)
        self.assertIn("the running configuration stays", gw.logs())
        self.assertEqual(gw.get("/").status, 200)

    def test_port_in_use_fails_the_whole_reload(self):
        a = self.enterContext(Origin("rf-b"))
        cfg = make_config([a])
        gw = self.enterContext(Gateway(cfg))
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        nxt = copy.deepcopy(cfg)
        nxt["listeners"].append({"name": "busy", "bind": "127.0.0.1:%d" % busy.getsockname()[1]})
        nxt["sites"][0]["routes"].insert(0, route("new", path="/new-route"))
        gw.write_config(nxt)
        r = gw.admin_request("POST", "/reload")
        self.assertEqual(r.status, 422, r.body)
        self.assertIn("listener busy", r.json()["errors"][0])
        # Nothing of that reload applies: the route it adds is unknown.
        self.assertEqual(gw.get("/new-route").header("X-Origin"), "rf-b")
        self.assertEqual(gw.metric("edgegate_config_reloads_total", result="failure"), 1)


class ListenerReloadTest(EdgeTestCase):
    def test_listener_added_then_removed_under_load(self):
        a = self.enterContext(Origin("rl-l"))
        cfg = make_config([a], workers=2)
        gw = self.enterContext(Gateway(cfg))
        extra = free_port()
        with Load(gw.port, keepalive=2, fresh=2) as load:
            wait_for(lambda: load.total() > 20, 10, what="load running")
            added = copy.deepcopy(cfg)
            added["listeners"].append({"name": "extra", "bind": "127.0.0.1:%d" % extra})
            gw.reload(added)
            gw.wait_reloads(1, result="success")
            wait_for(lambda: http("GET", "http://127.0.0.1:%d/" % extra,
                                  headers={"Host": "localhost"}).status == 200, 5,
                     what="the added listener answering")
            # Traffic on the new listener too, then a keep-alive client that stays.
            with Load(extra, keepalive=1, fresh=1) as on_extra:
                wait_for(lambda: on_extra.total() > 10, 10, what="load on the new listener")
            kept = socket.create_connection(("127.0.0.1", extra), timeout=5)
            self.addCleanup(kept.close)
            kept.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            first = read_response(kept)
            self.assertEqual(first[0], 200)

            gw.reload(cfg)
            gw.wait_reloads(2, result="success")
            wait_for(lambda: not _accepts(extra), 5, what="the removed listener closed")
            # The idle keep-alive connection was not reset: its next request is answered,
            # with Connection: close, and then the connection ends.
            kept.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status, headers, _, _ = read_response(kept)
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("connection"), "close")
            kept.settimeout(5)
            self.assertEqual(kept.recv(100), b"")
            time.sleep(0.3)
        print("traffic on the new listener: %s" % on_extra.summary())
        print("main listener while a listener came and went: %s" % load.summary())
        self.assertEqual((on_extra.failed, on_extra.resets), (0, 0), on_extra.summary())
        self.assertEqual((load.failed, load.resets), (0, 0), load.summary())


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
