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
struct evhttp_bound_socket;

namespace edge {

class Server;

class AdminServer {
 public:
  explicit AdminServer(Server& server);
  ~AdminServer();
  // Main thread: binds (errors are reported before any worker starts), or
  // serves on `inherited`, a listening socket handed over by the process this
  // one replaces.
  bool start(const conf::HostPort& bind, std::string* error, UniqueFd inherited = UniqueFd());
  // The listening socket (binary upgrade hands it over), -1 if none.
  int listenFd() const { return listen_fd_; }
  // Any thread: stop accepting (the process that took over answers now).
  void stopAccepting();
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
  evhttp_bound_socket* bound_ = nullptr;
  int listen_fd_ = -1;
  std::thread thread_;
};

}  // namespace edge
