"""bench/pool.sh: pools the per-round on/off figures of bench/run.sh reports. The reports
here are written in run.sh's format with known ratios; the expected medians and 95%
intervals are computed independently below (order statistics of the binomial)."""

import math
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("EDGEGATE_SOURCE_DIR", os.path.join(HERE, "..", ".."))
POOL = os.path.join(SOURCE, "bench", "pool.sh")
PAIR = "edgegate-log / edgegate-bare"


def report(targets, rounds):
    """A run.sh report with the pair section holding `rounds`: (rps, cpu, diff, writer)."""
    lines = [
        "# HTTP/1.1 keep-alive: origin direct, edgegate, nginx (2026-12-08-0000)",
        "",
        f'Command: `DURATION=3s CONNECTIONS=50 ROUNDS={len(rounds)} WRK_THREADS=1 '
        f'TARGETS="{targets}" bench/run.sh`',
        "",
        "## Metrics and access log on (edgegate-log) / off (edgegate-bare)",
        "",
        f"| round | req/s {PAIR} | CPU µs/req {PAIR} | CPU µs/req edgegate-log - "
        "edgegate-bare | log writer CPU µs/req |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for i, (rps, cpu, diff, writer) in enumerate(rounds, 1):
        lines.append(f"| {i} | {rps:.3f} | {cpu:.3f} | {diff:+.2f} | {writer:.2f} |")
    lines += ["", "Medians of the per-round figures (95% confidence interval of the median "
              "in brackets):", "", "- requests/s: **0.000** [- -]", ""]
    # A second pair section, whose rows must not be pooled with the first.
    lines += ["## Access log to a file (edgegate-log) / off (edgegate)", "",
              "| round | req/s edgegate-log / edgegate | CPU µs/req edgegate-log / edgegate | "
              "CPU µs/req edgegate-log - edgegate | log writer CPU µs/req |",
              "| --- | ---: | ---: | ---: | ---: |", "| 1 | 9.000 | 9.000 | +9.00 | 9.00 |", ""]
    return "\n".join(lines) + "\n"


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def interval(v):
    """The k-th smallest and k-th largest: k the largest with P(Binomial(n, 1/2) < k) <= 2.5%."""
    v = sorted(v)
    n = len(v)
    k = 0
    while sum(math.comb(n, j) for j in range(k + 1)) / 2**n <= 0.025:
        k += 1
    k = max(k, 1)
    return v[k - 1], v[n - k]


class PoolTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def pool(self, *args):
        return subprocess.run(["bash", POOL, *args], capture_output=True, text=True, timeout=60)

    def rows(self, out):
        """The table rows of pool.sh's output, by their first cell."""
        rows = {}
        for line in out.splitlines():
            if line.startswith("| ") and not line.startswith("| run ") and "---" not in line:
                cells = [c.strip() for c in line.strip("|").split("|")]
                rows[cells[0]] = cells[1:]
        return rows

    def test_pools_rounds_per_layout_and_all(self):
        a = [(0.90 + 0.01 * i, 1.01 + 0.002 * i, 0.1 * i, 0.15) for i in range(8)]
        b = [(0.95 + 0.005 * i, 1.05 - 0.003 * i, -0.05 * i, 0.20) for i in range(10)]
        c = [(1.00 - 0.01 * i, 1.00 + 0.001 * i, 0.02 * i, 0.10) for i in range(6)]
        pa = self.write("a.md", report("edgegate-bare edgegate-log", a))
        pb = self.write("b.md", report("origin edgegate-bare edgegate-log", b))
        pc = self.write("c.md", report("edgegate-bare edgegate-log", c))
        res = self.pool(pa, pb, pc)
        self.assertEqual(res.returncode, 0, res.stderr)
        rows = self.rows(res.stdout)

        def check(label, rounds):
            self.assertIn(label, rows, res.stdout)
            n, rps, cpu, diff, writer = rows[label]
            self.assertEqual(int(n), len(rounds))
            for text, col in ((rps, 0), (cpu, 1)):
                values = [round(r[col], 3) for r in rounds]
                med, rest = text.split(" ", 1)
                self.assertAlmostEqual(float(med), median(values), places=3, msg=label)
                lo, hi = rest.strip("[]").split()
                want = interval(values)
                self.assertAlmostEqual(float(lo), want[0], places=3, msg=label)
                self.assertAlmostEqual(float(hi), want[1], places=3, msg=label)
            self.assertAlmostEqual(float(diff), median([round(r[2], 2) for r in rounds]),
                                   places=3, msg=label)
            self.assertAlmostEqual(float(writer), median([r[3] for r in rounds]), places=3)

        check("a (edgegate-bare edgegate-log)", a)
        check("b (origin edgegate-bare edgegate-log)", b)
        check("all [edgegate-bare edgegate-log]", a + c)
        check("all [origin edgegate-bare edgegate-log]", b)
        check("**all**", a + b + c)
        # The other section's row (9.000) is in none of them.
        self.assertNotIn("9.000", res.stdout)

    def test_other_section(self):
        p = self.write("a.md", report("edgegate edgegate-log", [(1, 1, 0, 0)] * 6))
        res = self.pool("-s", "edgegate-log / edgegate", p)
        self.assertEqual(res.returncode, 0, res.stderr)
        # Its one round (9.000), with no interval under 6 rounds.
        self.assertEqual(self.rows(res.stdout)["**all**"][:2], ["1", "9.000 [- -]"])

    def test_refuses_a_report_without_the_section(self):
        p = self.write("a.md", report("edgegate edgegate-log", [(1, 1, 0, 0)] * 6))
        res = self.pool("-s", "nginx-log / nginx", p)
        self.assertEqual(res.returncode, 2)
        self.assertIn('no "nginx-log / nginx" section', res.stderr)
        res = self.pool(os.path.join(self.dir.name, "missing.md"))
        self.assertEqual(res.returncode, 2)
        self.assertIn("cannot read it", res.stderr)
        res = self.pool()
        self.assertEqual(res.returncode, 2)


if __name__ == "__main__":
    unittest.main()
