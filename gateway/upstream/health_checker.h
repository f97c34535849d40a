#pragma once
// Active health checks: one probe per server of every upstream that has a
// health_check block, on a thread and event loop of their own so that a slow
// or hanging origin never delays a worker. A probe sends
// `GET <path> HTTP/1.1` on a fresh connection every interval; a 2xx or 3xx
// status within timeout passes. unhealthy_after failures in a row take the
// server out of rotation, healthy_after passes in a row put it back. The
// verdict is published in the server's ServerHealth (atomics) that workers
// read when they balance.
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "gateway/loop.h"
#include "gateway/snapshot.h"

namespace edge {

class HealthProbe;

class HealthChecker {
 public:
  HealthChecker();
  ~HealthChecker();  // stops the thread

  // Main thread, once.
  void start();
  // Any thread: check the servers of this snapshot from now on. Probes of
  // servers that remain keep their counts; removed servers stop being checked.
  void update(SnapshotPtr snapshot);
  void stop();

 private:
  void apply(SnapshotPtr snapshot);  // checker thread

  Loop loop_;
  std::thread thread_;
  SnapshotPtr snapshot_;  // checker thread: keeps the probes' config alive
  std::map<std::string, std::unique_ptr<HealthProbe>> probes_;  // "upstream server"
};

}  // namespace edge
