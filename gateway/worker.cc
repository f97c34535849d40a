#include "gateway/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "cache/cache_policy.h"
#include "gateway/access_log.h"
#include "gateway/host_policy.h"
#include "gateway/http1_connection.h"
#include "gateway/http2/http2_connection.h"
#include "gateway/log.h"
#include "gateway/redirect_policy.h"
#include "gateway/server.h"
#include "gateway/upstream/upstream_policy.h"
#include "ratelimit/rate_limit_policy.h"

namespace edge {

Worker::Worker(Server& server, unsigned index, SnapshotPtr snapshot, WorkerMetrics* metrics)
    : server_(server),
      index_(index),
      snapshot_(std::move(snapshot)),
      metrics_(metrics),
      pools_(loop_),
      rng_(std::random_device{}() ^ (static_cast<uint64_t>(index) << 32)) {
  // The chain of ARCHITECTURE.md; redirects, rate limits and the cache slot
  // in between host and upstream as they arrive.
  policies_.push_back(std::make_unique<HostPolicy>());
  policies_.push_back(std::make_unique<RedirectPolicy>());
  policies_.push_back(std::make_unique<ratelimit::RateLimitPolicy>(*this, snapshot_->config()));
  policies_.push_back(std::make_unique<cache::CachePolicy>(*this, snapshot_->config()));
  policies_.push_back(std::make_unique<UpstreamPolicy>());
  unmatched_stats_ = metrics_->routeStats("-", "-");
}

Worker::~Worker() {
  join();
  shutdownObjects();
}

void Worker::shutdownObjects() {
  // Connections, exchanges and origin connections point at the pools and
  // the loop: free them, and what they defer, while both still exist.
  connections_.clear();
  loop_.runDeferred();
  listening_.clear();
  pools_.closeIdle();
  loop_.runDeferred();
}

void Worker::start(std::vector<ListenSocket> sockets) {
  for (auto& s : sockets) addListening(std::move(s));
  thread_ = std::thread([this] { run(); });
}

void Worker::addListening(ListenSocket s) {
  auto l = std::make_unique<Listening>();
  l->name = s.name;
  l->fd = std::move(s.fd);
  l->worker = this;
  for (const auto& cl : snapshot_->config().listeners)
    if (cl.name == s.name) {
      l->tls = cl.tls.has_value();
      l->h2c = !l->tls && cl.http2;
    }
  l->ev.reset(event_new(
      loop_.base(), l->fd.get(), EV_READ | EV_PERSIST,
      [](evutil_socket_t, short, void* arg) {
        auto* li = static_cast<Listening*>(arg);
        li->worker->onAccept(*li);
      },
      l.get()));
  event_add(l->ev.get(), nullptr);
  listening_.push_back(std::move(l));
}

void Worker::updateListeners(std::vector<ListenSocket> added, std::vector<std::string> removed) {
  loop_.post([this, added = std::make_shared<std::vector<ListenSocket>>(std::move(added)),
              removed = std::move(removed)] {
    for (const auto& name : removed) {
      for (auto it = listening_.begin(); it != listening_.end();) {
        if ((*it)->name != name) {
          ++it;
          continue;
        }
        (*it)->ev.reset();
        (*it)->fd.reset();
        retired_.push_back(std::move(*it));
        it = listening_.erase(it);
      }
      // Their next response says Connection: close (HTTP/2: GOAWAY); idle ones
      // end after a short grace. Never a reset under a client's request.
      // (drain() may remove a connection: collect first.)
      std::vector<ClientConnection*> conns;
      for (auto& [ptr, c] : connections_)
        if (c->listener && *c->listener == name) conns.push_back(ptr);
      for (auto* c : conns) c->drain();
    }
    if (draining_) return;  // a drain started meanwhile: the new sockets just close
    for (auto& s : *added) addListening(std::move(s));
  });
}

std::vector<ListenSocket> Worker::duplicateListeners() {
  auto promise = std::make_shared<std::promise<std::vector<ListenSocket>>>();
  auto future = promise->get_future();
  loop_.post([this, promise] {
    std::vector<ListenSocket> out;
    for (const auto& l : listening_) {
      if (!l->fd) continue;
      UniqueFd copy(fcntl(l->fd.get(), F_DUPFD_CLOEXEC, 0));
      if (copy) out.push_back(ListenSocket{l->name, std::move(copy)});
    }
    promise->set_value(std::move(out));
  });
  return future.get();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run() {
  event_base_loop(loop_.base(), 0);
  // Whatever is still open when the loop stops (drain timeout) is cut here.
  shutdownObjects();
}

void Worker::setSnapshot(SnapshotPtr snapshot) {
  loop_.post([this, s = std::move(snapshot)]() mutable { snapshot_ = std::move(s); });
}

void Worker::setTls(std::shared_ptr<const tls::TlsSet> set) {
  loop_.post([this, s = std::move(set)]() mutable { tls_ = std::move(s); });
}

void Worker::drain() {
  loop_.post([this] {
    draining_ = true;
    // Closing our listening sockets hands new connections to nobody: the
    // kernel refuses them, which is what a draining instance should do.
    // (The Listening records stay: connections still point at their names.)
    for (auto& l : listening_) {
      l->ev.reset();
      l->fd.reset();
    }
    pools_.closeIdle();
    std::vector<ClientConnection*> conns;
    conns.reserve(connections_.size());
    for (auto& [ptr, c] : connections_) conns.push_back(ptr);
    for (auto* c : conns) c->drain();
    maybeFinishDrain();
  });
}

void Worker::stopNow() {
  loop_.post([this] { event_base_loopbreak(loop_.base()); });
}

void Worker::maybeFinishDrain() {
  if (draining_ && connections_.empty() && !drain_reported_) {
    drain_reported_ = true;
    event_base_loopexit(loop_.base(), nullptr);
    server_.workerDrained();
  }
}

void Worker::onAccept(Listening& l) {
  const auto& limits = snapshot_->config().server.limits;
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd =
        ::accept4(l.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        LOG_WARN("listener %s: accept: %s", l.name.c_str(), strerror(errno));
      return;
    }
    UniqueFd owned(fd);
    ClientInfo info;
    char text[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      memcpy(info.addr, &in->sin_addr, 4);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    } else if (ss.ss_family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      info.v6 = true;
      memcpy(info.addr, &in6->sin6_addr, 16);
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    }
    info.ip = text;
    info.listener = &l.name;
    info.tls = l.tls;
    if (!server_.admitConnection(info, limits)) {
      LOG_DEBUG("listener %s: connection from %s refused: connection limit", l.name.c_str(), text);
      continue;  // owned closes it
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    metrics_->connectionOpened(l.name);
    Transport transport(std::move(owned));
    if (l.tls) {
      // The context of the current configuration; a reload swaps it for new connections only.
      std::shared_ptr<const tls::ServerContext> ctx;
      if (tls_) {
        auto it = tls_->by_listener.find(l.name);
        if (it != tls_->by_listener.end()) ctx = it->second;
      }
      if (!ctx) {
        LOG_WARN("listener %s: no TLS context loaded: connection closed", l.name.c_str());
        metrics_->connectionClosed(l.name);
        server_.releaseConnection(info);
        continue;
      }
      tls::SslPtr ssl = ctx->newSsl(transport.fd());
      if (!ssl) {
        LOG_WARN("listener %s: SSL_new failed: connection closed", l.name.c_str());
        metrics_->connectionClosed(l.name);
        server_.releaseConnection(info);
        continue;
      }
      transport = Transport(UniqueFd(transport.release()), std::move(ctx), std::move(ssl));
    }
    auto conn =
        std::make_unique<Http1Connection>(*this, std::move(transport), std::move(info), l.h2c);
    auto* raw = conn.get();
    raw->listener = &l.name;
    connections_.emplace(raw, std::move(conn));
    raw->start();
  }
}

void Worker::startHttp2(Http1Connection* from, Transport transport, ClientInfo client,
                        EvbufferPtr in) {
  const std::string* listener = client.listener;
  client.http2 = true;
  auto conn = std::make_unique<http2::Http2Connection>(*this, std::move(transport),
                                                       std::move(client), std::move(in));
  auto* raw = conn.get();
  raw->listener = listener;
  connections_.emplace(raw, std::move(conn));
  removeConnection(from);
  raw->start();
  if (draining_) raw->drain();
}

void Worker::removeConnection(ClientConnection* conn) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;
  loop_.deferDelete(std::move(it->second));
  connections_.erase(it);
  maybeFinishDrain();
}

void Worker::connectionClosed(const ClientInfo& client) {
  server_.releaseConnection(client);
  if (client.listener) metrics_->connectionClosed(*client.listener);
}

void Worker::newRequestId(std::string& out) {
  out.resize(32);
  newRequestId(out.data());
}

void Worker::newRequestId(char* out) {
  static const char kHex[] = "0123456789abcdef";
  uint64_t a = rng_(), b = rng_();
  for (int i = 0; i < 16; ++i) {
    out[i] = kHex[(a >> (i * 4)) & 0xf];
    out[16 + i] = kHex[(b >> (i * 4)) & 0xf];
  }
}

void Worker::recordRequest(const conf::Site* site, const conf::Route* route,
                           std::string_view method, uint16_t status, double seconds) {
  metrics_->recordRequest(routeStatsFor(site, route), methodIndex(method), status, seconds);
}

WorkerMetrics::RouteStats* Worker::routeStatsFor(const conf::Site* site, const conf::Route* route) {
  WorkerMetrics::RouteStats* stats = unmatched_stats_;
  if (site) {
    const void* key = route ? static_cast<const void*>(route) : static_cast<const void*>(site);
    std::string_view route_name = route ? std::string_view(route->name) : std::string_view("-");
    auto it = route_stats_.find(key);
    // Keys are config addresses; after a reload one may be reused by a
    // different route, so the names are checked before trusting the entry.
    if (it != route_stats_.end() && it->second->site == site->name &&
        it->second->route == route_name) {
      stats = it->second;
    } else {
      stats = metrics_->routeStats(site->name, route_name);
      route_stats_[key] = stats;
    }
  }
  return stats;
}

bool Worker::accessLogOn() const {
  return server_.accessLog().enabled();
}

void Worker::completeRequest(RequestRecord& r, uint64_t end_us) {
  uint64_t us = end_us > r.start_us ? end_us - r.start_us : 0;
  metrics_->recordRequest(r.stats, r.method, r.status, static_cast<double>(us) / 1e6, end_us);
  if (!r.logged) return;
  r.logged = false;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t ts_us =
      static_cast<int64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000 - static_cast<int64_t>(us);
  bool started = false;
  server_.accessLog().lane(index_).append(r.line, ts_us, us, &started);
  // The line's buffer serves the next request's line.
  r.line.buf.swap(log_spare_);
  if (started) {
    // The first line of a buffer: it reaches the file within kFlushMs even if
    // no more requests come to fill the buffer.
    if (!log_flush_ev_)
      log_flush_ev_ = makeEvent<Worker, &Worker::onLogFlush>(loop_.base(), -1, 0, this);
    const timeval tv{0, AccessLog::kFlushMs * 1000};
    event_add(log_flush_ev_.get(), &tv);
  }
}

void Worker::onLogFlush(short) {
  server_.accessLog().lane(index_).handOff();
}

}  // namespace edge
