#pragma once
// The process: owns the configuration snapshot, the workers, the admin
// listener and the signal handling. Its loop runs on the main thread.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "gateway/exchange.h"
#include "gateway/loop.h"
#include "gateway/metrics.h"
#include "gateway/snapshot.h"
#include "tls/context.h"

namespace edge {

class Worker;
class AdminServer;
class AccessLog;

struct ReloadResult {
  bool ok = false;
  std::vector<std::string> errors;
};

class Server {
 public:
  Server(std::string config_path, std::shared_ptr<const conf::Config> config);
  ~Server();

  // Main thread: binds, starts everything, runs until drained. Exit code.
  int run();

  // Any thread.
  SnapshotPtr snapshot() const;
  Metrics& metrics() { return metrics_; }
  // Created in run() before the workers, freed after them.
  AccessLog& accessLog() { return *access_log_; }
  bool draining() const { return draining_.load(); }
  // Runs a reload on the main thread and waits for its result (admin thread).
  ReloadResult reloadFromOtherThread();
  // Accept path of every worker: max_connections and max_connections_per_ip.
  bool admitConnection(const ClientInfo& client, const conf::Limits& limits);
  void releaseConnection(const ClientInfo& client);
  // A worker finished draining (worker thread).
  void workerDrained();

 private:
  ReloadResult reload();  // main thread
  // Loads every listener's certificates; logs warnings and errors.
  std::shared_ptr<const tls::TlsSet> loadTls(const conf::Config& cfg,
                                             std::vector<std::string>* errors);
  void beginDrain();
  bool openListeners(std::vector<std::vector<struct ListenSocket>>& per_worker);
  static void onSignal(evutil_socket_t sig, short, void* arg);

  std::string config_path_;
  Loop loop_;
  mutable std::mutex snapshot_mu_;
  SnapshotPtr snapshot_;
  std::shared_ptr<const tls::TlsSet> tls_;  // guarded by snapshot_mu_
  uint64_t generation_ = 1;
  Metrics metrics_;
  std::unique_ptr<AccessLog> access_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<AdminServer> admin_;
  std::vector<EventPtr> signal_events_;
  EventPtr drain_timer_;
  // Every 6 hours: a warning for each certificate expiring within 14 days.
  EventPtr expiry_timer_;
  void checkExpiry();
  std::atomic<bool> draining_{false};
  std::atomic<unsigned> workers_running_{0};

  std::atomic<uint64_t> connections_{0};
  // Connections per client address, sharded to keep accepts on different
  // workers off one lock.
  struct IpShard {
    std::mutex mu;
    std::unordered_map<std::string, uint32_t> counts;
  };
  static constexpr size_t kIpShards = 16;
  IpShard ip_shards_[kIpShards];
};

}  // namespace edge
