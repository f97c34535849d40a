"""Binary upgrade: `edgegate -c FILE --upgrade-from PIDFILE` takes the listening sockets
of the running process over a Unix socket, starts serving and makes the old process
drain. Under constant keep-alive and fresh-connection load no request fails and no
connection is reset (the counts are printed)."""

import os
import shutil
import tempfile
import time
import unittest

from harness import EdgeTestCase, Gateway, Load, Origin, make_config, run_edgegate, wait_for


def read_pid(path):
    with open(path) as f:
        return int(f.read().strip())


class UpgradeTest(EdgeTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="edgegate-upgrade-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.pid_file = os.path.join(self.dir, "edgegate.pid")

    def test_upgrade_under_load(self):
        a = self.enterContext(Origin("up-a"))
        cfg = make_config([a], workers=2, drain_timeout="5s")
        old = self.enterContext(Gateway(cfg, extra_args=["--pid-file", self.pid_file]))
        self.assertEqual(read_pid(self.pid_file), old.pid)
        with Load(old.port, keepalive=2, fresh=2) as load:
            wait_for(lambda: load.total() > 50, 10, what="load running")
            new = Gateway(cfg, extra_args=["--pid-file", self.pid_file, "--upgrade-from",
                                           self.pid_file])
            self.enterContext(new)
            started = time.monotonic()
            self.assertEqual(old.wait_exit(15), 0, "the old process did not drain and exit 0")
            print("old process exited %.2fs after the new one was ready"
                  % (time.monotonic() - started))
            before = load.total()
            wait_for(lambda: load.total() > before + 200, 10, what="load served by the new one")
        print("during the binary upgrade: %s" % load.summary())
        self.assertEqual((load.failed, load.resets), (0, 0), load.summary())
        self.assertEqual(read_pid(self.pid_file), new.pid)
        self.assertIn("took 3 listening socket(s) over", new.logs())  # 2 workers + admin
        # The admin address is the new process's now.
        self.assertEqual(new.admin_get("/readyz").status, 200)
        self.assertEqual(new.get("/").status, 200)
        new.stop()
        self.assertFalse(os.path.exists(self.pid_file), "the pid file outlived its process")

    def test_upgrade_from_nothing_refuses_to_start(self):
        with open(self.pid_file, "w") as f:
            f.write("999999\n")
        a = self.enterContext(Origin("up-b"))
        old = self.enterContext(Gateway(make_config([a])))
        r = run_edgegate("-c", old.config_path, "--upgrade-from", self.pid_file)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("the running process keeps serving", r.stdout + r.stderr)
        self.assertEqual(old.get("/").status, 200)


if __name__ == "__main__":
    unittest.main()
