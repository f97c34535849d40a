#pragma once
// The admin listener (server.admin.bind): health, readiness, metrics, the
// effective config, reload. Runs libevent's evhttp on a thread of its own so
// that a slow scrape never delays a worker and a stuck worker never hides
// the process's health.
#include <memory>
#include <string>
#include <thread>

#include "conf/config.h"
#include "gateway/admin/status_page.h"
#include "gateway/loop.h"

struct evhttp;
struct evhttp_request;

namespace edge {

class Server;

class AdminServer {
 public:
  explicit AdminServer(Server& server);
  ~AdminServer();
  // Main thread: binds (errors are reported before any worker starts).
  bool start(const conf::HostPort& bind, std::string* error);
  void stop();
  // Main thread, before start(): where health checks, TLS and the cache
  // register what the status page and /metrics show of them.
  StatusSources& sources() { return sources_; }

 private:
  static void onRequest(evhttp_request* req, void* arg);
  void handle(evhttp_request* req);
  bool authorized(evhttp_request* req);

  Server& server_;
  StatusSources sources_;
  Loop loop_;
  evhttp* http_ = nullptr;
  std::thread thread_;
};

}  // namespace edge
