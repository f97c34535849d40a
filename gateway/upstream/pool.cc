#include "gateway/upstream/pool.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "gateway/log.h"

namespace edge {
namespace {
// Idle origin connections are closed after this; shorter than the usual
// origin keep-alive timeouts (nginx 75s, Node 5s is the outlier) would be
// ideal, but the origin closing first is handled by dropping on EOF.
constexpr uint64_t kIdleTimeoutMs = 60000;

AddrKey keyOf(const ResolvedAddr& a) {
  AddrKey k;
  if (a.sa.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&a.sa);
    memcpy(k.bytes, &in->sin_addr, 4);
    memcpy(k.bytes + 16, &in->sin_port, 2);
  } else if (a.sa.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.sa);
    memcpy(k.bytes, &in6->sin6_addr, 16);
    memcpy(k.bytes + 16, &in6->sin6_port, 2);
  }
  return k;
}
}  // namespace

void ServerState::drop(UpstreamConnection& c) {
  auto it = std::find_if(idle.begin(), idle.end(), [&](auto& p) { return p.get() == &c; });
  if (it == idle.end()) return;
  // Called from the connection's own event: free it after the callback.
  pools->loop().deferDelete(std::move(*it));
  idle.erase(it);
}

ServerState& UpstreamPools::server(const conf::HostPort& hp, const ResolvedAddr& addr) {
  AddrKey key = keyOf(addr);
  auto it = servers_.find(key);
  if (it != servers_.end()) return *it->second;
  auto s = std::make_unique<ServerState>();
  s->pools = this;
  s->addr = addr;
  s->name = hp.str();
  auto& ref = *s;
  servers_.emplace(key, std::move(s));
  return ref;
}

std::unique_ptr<UpstreamConnection> UpstreamPools::takeIdle(ServerState& s) {
  if (s.idle.empty()) return nullptr;
  auto c = std::move(s.idle.back());
  s.idle.pop_back();
  // The read event stays armed across idle and busy: only its handler
  // changes, which saves two epoll_ctl calls per request.
  c->cancelTimer();
  c->setHandler(nullptr);
  return c;
}

std::unique_ptr<UpstreamConnection> UpstreamPools::connect(ServerState& s) {
  if (!s.addr.ok) {
    errno = EHOSTUNREACH;
    return nullptr;
  }
  int fd = ::socket(s.addr.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  UniqueFd owned(fd);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&s.addr.sa), s.addr.len);
  if (rc != 0 && errno != EINPROGRESS) return nullptr;
  return std::make_unique<UpstreamConnection>(loop_.base(), std::move(owned), s);
}

std::unique_ptr<UpstreamConnection> UpstreamPools::release(std::unique_ptr<UpstreamConnection> c,
                                                           unsigned keepalive) {
  ServerState& s = c->server();
  if (closing_ || s.idle.size() >= keepalive || evbuffer_get_length(c->in()) > 0) return c;
  c->setHandler(&s);
  c->cancelTimer();
  c->watchWritable(false);
  c->enableRead(true);
  c->setTimer(kIdleTimeoutMs);
  c->reused = true;
  s.idle.push_back(std::move(c));
  return nullptr;
}

size_t UpstreamPools::pick(const conf::Upstream& up, const Snapshot& snap, uint64_t tried,
                           uint64_t random, uint64_t now_us) {
  size_t n = up.servers.size();
  auto untried = [&](size_t i) { return i >= 64 || !(tried & (1ull << i)); };
  auto available = [&](size_t i) { return snap.health(up, i).available(now_us); };
  size_t left = 0, healthy = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!available(i)) continue;
    ++healthy;
    left += untried(i);
  }
  if (healthy == 0) return kNoServer;
  bool skip = left > 0;
  auto ok = [&](size_t i) { return available(i) && (!skip || untried(i)); };

  switch (up.balance) {
    case conf::Balance::kLeastConn: {
      auto& rr = rr_[up.name];
      size_t best = n;
      uint32_t best_active = UINT32_MAX;
      for (size_t k = 0; k < n; ++k) {
        size_t i = (rr + k) % n;
        if (!ok(i)) continue;
        uint32_t a = server(up.servers[i], snap.resolved(up.servers[i])).active;
        if (a < best_active) {
          best = i;
          best_active = a;
        }
      }
      ++rr;
      return best;
    }
    case conf::Balance::kRandom: {
      size_t start = random % n;
      for (size_t k = 0; k < n; ++k)
        if (ok((start + k) % n)) return (start + k) % n;
      return kNoServer;
    }
    case conf::Balance::kRoundRobin:
    default: {
      auto it = rr_.find(std::string_view(up.name));
      if (it == rr_.end()) it = rr_.emplace(up.name, 0).first;
      for (size_t k = 0; k < n; ++k) {
        size_t i = it->second++ % n;
        if (ok(i)) return i;
      }
      return kNoServer;
    }
  }
}

void UpstreamPools::closeIdle() {
  closing_ = true;
  for (auto& [key, s] : servers_) s->idle.clear();
}

}  // namespace edge
