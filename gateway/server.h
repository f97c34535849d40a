#pragma once
// The process: owns the configuration snapshot, the workers, the admin
// listener and the signal handling. Its loop runs on the main thread.
#include <atomic>
#include <map>
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
#include "gateway/upstream/health_checker.h"
#include "tls/context.h"

namespace edge {

class Worker;
struct ListenSocket;
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

  // Before run(): the PID file to write (and remove at exit), and the PID
  // file of a running edgegate whose listening sockets this one takes over
  // (binary upgrade; that process is then told to drain).
  void setPidFile(std::string path) { pid_file_ = std::move(path); }
  void setUpgradeFrom(std::string pid_file) { upgrade_from_ = std::move(pid_file); }

  // Main thread: binds, starts everything, runs until drained. Exit code.
  int run();

  // Any thread.
  SnapshotPtr snapshot() const;
  Metrics& metrics() { return metrics_; }
  // Created in run() before the workers, freed after them.
  AccessLog& accessLog() { return *access_log_; }
  bool draining() const { return draining_.load(); }
  // True once start-up finished (workers accepting, pid file written) until the drain.
  bool serving() const { return serving_.load() && !draining_.load(); }
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
  // One SO_REUSEPORT socket per worker for listener l, appended to per_worker.
  bool bindListener(const conf::Listener& l, std::vector<std::vector<ListenSocket>>& per_worker,
                    std::string* error);
  static void onSignal(evutil_socket_t sig, short, void* arg);
  // Binary upgrade, old side: a new process asks for the listening sockets.
  void onHandoffRequest();
  // Binary upgrade, new side: takes the sockets of the running process.
  bool takeOverSockets(std::string* error);
  // A handed-over socket for this listener, if the old process had one.
  std::vector<UniqueFd> inheritedFor(const conf::Listener& l);

  std::string config_path_;
  Loop loop_;
  mutable std::mutex snapshot_mu_;
  SnapshotPtr snapshot_;
  std::shared_ptr<const tls::TlsSet> tls_;  // guarded by snapshot_mu_
  uint64_t generation_ = 1;
  Metrics metrics_;
  std::unique_ptr<AccessLog> access_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::map<std::string, std::string> bound_;  // main thread: listener name -> bind as written
  std::string pid_file_;
  std::string upgrade_from_;
  pid_t old_pid_ = -1;                                      // the process taken over
  std::map<std::string, std::vector<UniqueFd>> inherited_;  // "name bind" -> sockets
  UniqueFd inherited_admin_;
  UniqueFd handoff_listener_;
  EventPtr handoff_event_;
  bool handed_off_ = false;  // another process holds our sockets: stop the admin on drain
  std::unique_ptr<AdminServer> admin_;
  HealthChecker health_checker_;
  std::vector<EventPtr> signal_events_;
  EventPtr drain_timer_;
  // Every 6 hours: a warning for each certificate expiring within 14 days.
  EventPtr expiry_timer_;
  void checkExpiry();
  std::atomic<bool> draining_{false};
  std::atomic<bool> serving_{false};
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
