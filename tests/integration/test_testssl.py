"""testssl.sh (Debian package testssl.sh) against an edgegate TLS listener on loopback:
protocols, cipher categories, forward secrecy, server defaults and the known
vulnerabilities; no finding may be HIGH or CRITICAL. About a minute; skipped when
testssl is not installed. The certificate is signed by a CA made for the test (valid a
year, with a CRL distribution point) so that findings are about the server, not about a
self-signed or short-lived certificate."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import EdgeTestCase, Gateway, Origin, make_config

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")


def sh(*args):
    subprocess.run(list(args), check=True, capture_output=True, timeout=60)


@unittest.skipUnless(TESTSSL, "testssl.sh (Debian package testssl.sh) is not installed")
class TestsslTest(EdgeTestCase):
    def test_no_high_or_critical_finding(self):
        d = tempfile.mkdtemp(prefix="edgegate-testssl-")
        try:
            p = lambda name: os.path.join(d, name)  # noqa: E731
            ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
            sh("openssl", "req", "-x509", *ec, "-days", "400", "-keyout", p("ca.key"), "-out",
               p("ca.pem"), "-subj", "/CN=edgegate testssl CA")
            sh("openssl", "req", "-new", *ec, "-keyout", p("leaf.key"), "-out", p("leaf.csr"),
               "-subj", "/CN=localhost")
            with open(p("leaf.ext"), "w") as f:
                f.write("subjectAltName=DNS:localhost\n"
                        "crlDistributionPoints=URI:http://127.0.0.1:9/ca.crl\n"
                        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
            sh("openssl", "x509", "-req", "-in", p("leaf.csr"), "-CA", p("ca.pem"), "-CAkey",
               p("ca.key"), "-CAcreateserial", "-days", "365", "-out", p("leaf.pem"),
               "-extfile", p("leaf.ext"))
            with open(p("chain.pem"), "w") as out:
                for name in ("leaf.pem", "ca.pem"):
                    with open(p(name)) as f:
                        out.write(f.read())
            with Origin() as origin:
                cfg = make_config(origin)
                cfg["listeners"][0]["name"] = "https"
                cfg["listeners"][0]["tls"] = {
                    "certificates": [{"cert": p("chain.pem"), "key": p("leaf.key")}]}
                with Gateway(cfg) as gw:
                    r = subprocess.run(
                        [TESTSSL, "--quiet", "--color", "0", "--warnings", "off", "-p", "-s",
                         "-f", "-S", "-U", "--add-ca", p("ca.pem"), "--ip", "127.0.0.1",
                         "--jsonfile-pretty", p("out.json"), "localhost:%d" % gw.port],
                        capture_output=True, text=True, timeout=400)
                    with open(p("out.json")) as f:
                        result = json.load(f)
            findings = [(f["id"], f["severity"], f.get("finding", ""))
                        for scan in result["scanResult"] for v in scan.values()
                        if isinstance(v, list) for f in v
                        if isinstance(f, dict) and "severity" in f]
            self.assertTrue(findings, r.stdout[-3000:])
            bad = [f for f in findings if f[1] in ("HIGH", "CRITICAL")]
            self.assertEqual(bad, [], r.stdout[-5000:])
            ok = {f[0] for f in findings if f[1] == "OK"}
            self.assertIn("heartbleed", ok)
            self.assertIn("PFS", ok)
            self.assertIn("cert_chain_of_trust", ok)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
