#pragma once
// A worker thread: one event loop, its own SO_REUSEPORT listening sockets,
// the client connections it accepted, its origin pools and its metrics
// shard. Nothing here is shared with other workers except through Server.
#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/client_connection.h"
#include "gateway/exchange.h"
#include "gateway/loop.h"
#include "gateway/metrics.h"
#include "gateway/snapshot.h"
#include "gateway/transport.h"
#include "gateway/upstream/pool.h"
#include "tls/context.h"

namespace edge {

class Server;
class Http1Connection;

struct ListenSocket {
  std::string name;  // the listener's name from the config
  UniqueFd fd;
};

class Worker {
 public:
  Worker(Server& server, unsigned index, SnapshotPtr snapshot, WorkerMetrics* metrics);
  ~Worker();

  // Main thread: takes the sockets and starts the thread.
  void start(std::vector<ListenSocket> sockets);
  void join();
  // Any thread.
  void setSnapshot(SnapshotPtr snapshot);
  // The TLS contexts of the listeners: before start() from the main thread,
  // then posted (reload). Open connections keep the SSL they have.
  void setTls(std::shared_ptr<const tls::TlsSet> set);
  void setTlsNow(std::shared_ptr<const tls::TlsSet> set) { tls_ = std::move(set); }
  void drain();
  void stopNow();
  // Reload of the listeners (posted; after setSnapshot of the configuration
  // that names them): starts accepting on `added`, stops accepting on the
  // listeners named in `removed` and asks their connections to close politely.
  void updateListeners(std::vector<ListenSocket> added, std::vector<std::string> removed);
  // Main thread (binary upgrade): copies (dup) of the sockets this worker
  // accepts on now; waits for the worker's loop to answer.
  std::vector<ListenSocket> duplicateListeners();

  // Loop thread only, from here on.
  Loop& loop() { return loop_; }
  const SnapshotPtr& snapshot() const { return snapshot_; }
  bool draining() const { return draining_; }
  WorkerMetrics& metrics() { return *metrics_; }
  UpstreamPools& pools() { return pools_; }
  const std::vector<std::unique_ptr<Policy>>& policies() const { return policies_; }
  uint64_t random() { return rng_(); }
  void newRequestId(std::string& out);
  // Writes 32 hex characters.
  void newRequestId(char* out);
  // A string to build one message head in, reused by every exchange of
  // this worker (never held across a callback).
  std::string& scratch() { return scratch_; }
  void recordRequest(const conf::Site* site, const conf::Route* route, std::string_view method,
                     uint16_t status, double seconds);
  // The metrics entry of a site and route ("-" for none).
  WorkerMetrics::RouteStats* routeStatsFor(const conf::Site* site, const conf::Route* route);
  // An exchange is over and the last byte of its response was handed to the
  // socket at end_us: counts and times it, and queues its access log entry
  // (never waiting: a full queue drops the line and counts it).
  void completeRequest(RequestRecord& r, uint64_t end_us);
  bool accessLogOn() const;
  // Gives out a spare access log buffer (swapped with `into`).
  void takeLogBuffer(std::string& into) { into.swap(log_spare_); }
  void removeConnection(ClientConnection* conn);
  // The client chose HTTP/2 (ALPN h2, or the h2c preface): `from` gives up its
  // socket, client record and the bytes it read, and is freed after this callback.
  void startHttp2(Http1Connection* from, Transport transport, ClientInfo client, EvbufferPtr in);
  void connectionClosed(const ClientInfo& client);

 private:
  struct Listening {
    std::string name;
    UniqueFd fd;
    EventPtr ev;
    Worker* worker;
    bool tls = false;
    bool h2c = false;  // plain listener with `http2: true`
  };
  void run();
  void shutdownObjects();
  void addListening(ListenSocket socket);
  void onAccept(Listening& l);
  void maybeFinishDrain();
  // Timer: hands this worker's partly filled access log buffer to the writer.
  void onLogFlush(short);

  Server& server_;
  unsigned index_;
  Loop loop_;
  SnapshotPtr snapshot_;
  std::shared_ptr<const tls::TlsSet> tls_;
  WorkerMetrics* metrics_;
  UpstreamPools pools_;
  std::vector<std::unique_ptr<Policy>> policies_;
  std::vector<std::unique_ptr<Listening>> listening_;
  // Removed by a reload, sockets closed: kept because the connections they
  // accepted point at their names.
  std::vector<std::unique_ptr<Listening>> retired_;
  std::unordered_map<ClientConnection*, std::unique_ptr<ClientConnection>> connections_;
  std::unordered_map<const void*, WorkerMetrics::RouteStats*> route_stats_;
  WorkerMetrics::RouteStats* unmatched_stats_ = nullptr;
  std::mt19937_64 rng_;
  std::string scratch_;
  std::string log_spare_;
  EventPtr log_flush_ev_;
  std::thread thread_;
  bool draining_ = false;
  bool drain_reported_ = false;
};

}  // namespace edge
