#include "gateway/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <future>
#include <map>

#include "cache/hit_window.h"
#include "conf/loader.h"
#include "gateway/access_log.h"
#include "gateway/admin/admin_server.h"
#include "gateway/admin/status_page.h"
#include "gateway/listener_handoff.h"
#include "gateway/log.h"
#include "gateway/worker.h"

namespace edge {

Server::Server(std::string config_path, std::shared_ptr<const conf::Config> config)
    : config_path_(std::move(config_path)) {
  snapshot_ = Snapshot::build(std::move(config), generation_);
}

Server::~Server() {
  workers_.clear();
  admin_.reset();
  access_log_.reset();  // after the workers: they push into its rings
}

SnapshotPtr Server::snapshot() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return snapshot_;
}

namespace {
UniqueFd bindSocket(const conf::HostPort& hp, uint16_t port, std::string* error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string host = hp.host.empty() ? "0.0.0.0" : hp.host;
  if (inet_pton(AF_INET, host.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    len = sizeof *in;
  } else if (inet_pton(AF_INET6, host.c_str(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) ==
             1) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    len = sizeof *in6;
  } else {
    *error = "listener address must be an IP literal: " + host;
    return UniqueFd();
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *error = strerror(errno);
    return fd;
  }
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // One socket per worker on the same port: the kernel spreads connections
  // across workers without a shared accept lock.
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(fd.get(), 4096) != 0) {
    *error = "bind " + hp.str() + ": " + strerror(errno);
    return UniqueFd();
  }
  return fd;
}

uint16_t boundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}
}  // namespace

bool Server::bindListener(const conf::Listener& l,
                          std::vector<std::vector<ListenSocket>>& per_worker, std::string* error) {
  // Sockets taken over from the process this one replaces come first: they
  // carry that process's accept queues.
  std::vector<UniqueFd> fds = inheritedFor(l);
  uint16_t port = fds.empty() ? l.bind.port : boundPort(fds[0].get());
  const size_t taken_over = fds.size();
  while (fds.size() < per_worker.size()) {
    UniqueFd fd = bindSocket(l.bind, port, error);
    if (!fd) return false;  // the ones bound so far close here
    // Port 0: the first socket picks a port, the other workers join it.
    if (port == 0) port = boundPort(fd.get());
    fds.push_back(std::move(fd));
  }
  for (size_t i = 0; i < fds.size(); ++i)
    per_worker[i % per_worker.size()].push_back(ListenSocket{l.name, std::move(fds[i])});
  bound_[l.name] = l.bind.str();
  LOG_INFO("listener %s on %s:%u (%zu workers%s, %zu socket(s) taken over)", l.name.c_str(),
           l.bind.host.c_str(), port, per_worker.size(), l.tls ? ", TLS" : "", taken_over);
  return true;
}

std::vector<UniqueFd> Server::inheritedFor(const conf::Listener& l) {
  auto it = inherited_.find(l.name + " " + l.bind.str());
  if (it == inherited_.end()) return {};
  std::vector<UniqueFd> fds = std::move(it->second);
  inherited_.erase(it);
  return fds;
}

bool Server::openListeners(std::vector<std::vector<ListenSocket>>& per_worker) {
  for (const auto& l : snapshot_->config().listeners) {
    std::string error;
    if (!bindListener(l, per_worker, &error)) {
      LOG_ERROR("listener %s: %s", l.name.c_str(), error.c_str());
      return false;
    }
  }
  for (const auto& [key, fds] : inherited_)
    LOG_INFO("upgrade: listener %s is not in this configuration: its socket closes", key.c_str());
  inherited_.clear();
  return true;
}

bool Server::takeOverSockets(std::string* error) {
  pid_t pid = handoff::readPidFile(upgrade_from_, error);
  if (pid < 0) return false;
  std::vector<handoff::Socket> sockets;
  if (!handoff::receive(pid, sockets, error)) return false;
  const auto& cfg = snapshot_->config();
  for (auto& s : sockets) {
    if (s.kind == "admin") {
      if (s.bind == cfg.server.admin.bind.str()) inherited_admin_ = std::move(s.fd);
    } else {
      inherited_[s.name + " " + s.bind].push_back(std::move(s.fd));
    }
  }
  old_pid_ = pid;
  LOG_INFO("upgrade: took %zu listening socket(s) over from pid %d", sockets.size(),
           static_cast<int>(pid));
  return true;
}

void Server::onHandoffRequest() {
  std::vector<handoff::Socket> sockets;
  for (auto& w : workers_)
    for (auto& ls : w->duplicateListeners())
      sockets.push_back({"listener", ls.name, bound_[ls.name], std::move(ls.fd)});
  if (admin_ && admin_->listenFd() >= 0) {
    UniqueFd copy(fcntl(admin_->listenFd(), F_DUPFD_CLOEXEC, 0));
    if (copy)
      sockets.push_back(
          {"admin", "", snapshot()->config().server.admin.bind.str(), std::move(copy)});
  }
  std::string peer, error;
  if (!handoff::serve(handoff_listener_.get(), sockets, &peer, &error)) {
    LOG_WARN("upgrade: hand-off to %s failed: %s", peer.empty() ? "a new process" : peer.c_str(),
             error.c_str());
    return;
  }
  handed_off_ = true;
  LOG_INFO("upgrade: handed %zu listening socket(s) to %s; draining when it says so (SIGTERM)",
           sockets.size(), peer.c_str());
}

int Server::run() {
  const auto& cfg = snapshot_->config();
  unsigned n = cfg.server.workers ? cfg.server.workers : 1;
  std::vector<std::vector<ListenSocket>> sockets(n);
  std::vector<std::string> tls_errors;
  auto tls_set = loadTls(cfg, &tls_errors);
  if (!tls_set) return 1;
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    tls_ = tls_set;
  }
  if (!upgrade_from_.empty()) {
    std::string error;
    if (!takeOverSockets(&error)) {
      LOG_ERROR("upgrade from %s: %s; not starting (the running process keeps serving)",
                upgrade_from_.c_str(), error.c_str());
      return 1;
    }
  }
  if (!openListeners(sockets)) return 1;

  // Before anything answers (the admin listener runs from here on):
  // a SIGHUP or SIGTERM sent right after would otherwise meet the default
  // action and kill the process. The events wait for the loop to run.
  for (int sig : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) {
    EventPtr ev(evsignal_new(loop_.base(), sig, &Server::onSignal, this));
    event_add(ev.get(), nullptr);
    signal_events_.push_back(std::move(ev));
  }

  admin_ = std::make_unique<AdminServer>(*this);
  // With no TLS listener at start there is nothing to report (an absent series).
  if (!tls_set->by_listener.empty())
    admin_->sources().certificates = [this] {
      std::shared_ptr<const tls::TlsSet> set;
      {
        std::lock_guard<std::mutex> lock(snapshot_mu_);
        set = tls_;
      }
      std::vector<CertificateExpiry> out;
      if (set)
        for (const auto& c : set->certificates()) out.push_back({c.path, c.not_after});
      return out;
    };
  admin_->sources().cache = [] { return cache::HitWindow::collect(Loop::nowMicros()); };
  // Every server of every upstream: 0 while active checks or passive ejection
  // keep it out of rotation.
  admin_->sources().upstream_health = [this] {
    SnapshotPtr snap = snapshot();
    uint64_t now = Loop::nowMicros();
    std::vector<UpstreamServerHealth> out;
    for (const auto& e : snap->healthEntries())
      out.push_back({e.upstream->name, e.server->str(), e.health->available(now)});
    return out;
  };
  std::string error;
  if (!admin_->start(cfg.server.admin.bind, &error, std::move(inherited_admin_))) {
    LOG_ERROR("admin listener %s: %s", cfg.server.admin.bind.str().c_str(), error.c_str());
    return 1;
  }

  metrics_.setRequestMetrics(cfg.server.request_metrics);
  access_log_ = std::make_unique<AccessLog>();
  access_log_->start(cfg.server.access_log, n);
  for (unsigned i = 0; i < n; ++i)
    workers_.push_back(std::make_unique<Worker>(*this, i, snapshot_, metrics_.addShard()));
  workers_running_ = n;
  health_checker_.update(snapshot_);
  health_checker_.start();
  for (unsigned i = 0; i < n; ++i) {
    workers_[i]->setTlsNow(tls_set);
    workers_[i]->start(std::move(sockets[i]));
  }

  if (!tls_set->by_listener.empty()) {
    expiry_timer_.reset(event_new(
        loop_.base(), -1, EV_PERSIST,
        [](evutil_socket_t, short, void* arg) { static_cast<Server*>(arg)->checkExpiry(); }, this));
    timeval every = toTimeval(6 * 3600 * 1000ull);
    evtimer_add(expiry_timer_.get(), &every);
  }
  std::string handoff_error;
  handoff_listener_ = handoff::listen(getpid(), &handoff_error);
  if (handoff_listener_) {
    handoff_event_.reset(event_new(
        loop_.base(), handoff_listener_.get(), EV_READ | EV_PERSIST,
        [](evutil_socket_t, short, void* arg) { static_cast<Server*>(arg)->onHandoffRequest(); },
        this));
    event_add(handoff_event_.get(), nullptr);
  } else {
    LOG_WARN(
        "upgrade: no hand-off socket (%s): a binary upgrade cannot take over from this "
        "process",
        handoff_error.c_str());
  }
  if (!pid_file_.empty() && !handoff::writePidFile(pid_file_, getpid(), &error))
    LOG_ERROR("pid file: %s", error.c_str());
  LOG_INFO("edgegate %s serving with %u workers, config %s", EDGEGATE_VERSION, n,
           config_path_.c_str());
  // /readyz says 200 from here: a deploy script that waits for it finds the pid
  // file and the hand-off socket in place.
  serving_.store(true);
  if (old_pid_ > 0) {
    // Everything is accepting: the old process may stop now.
    LOG_INFO("upgrade: telling pid %d to drain", static_cast<int>(old_pid_));
    if (kill(old_pid_, SIGTERM) != 0)
      LOG_WARN("upgrade: SIGTERM to pid %d: %s", static_cast<int>(old_pid_), strerror(errno));
  }
  event_base_loop(loop_.base(), 0);

  for (auto& w : workers_) w->stopNow();
  for (auto& w : workers_) w->join();
  health_checker_.stop();
  admin_->stop();
  access_log_->stop();  // writes what the workers queued
  if (!pid_file_.empty()) handoff::removePidFile(pid_file_, getpid());
  LOG_INFO("stopped");
  return 0;
}

void Server::onSignal(evutil_socket_t sig, short, void* arg) {
  auto* self = static_cast<Server*>(arg);
  switch (sig) {
    case SIGHUP: {
      ReloadResult r = self->reload();
      (void)r;
      break;
    }
    case SIGTERM:
    case SIGINT:
      self->beginDrain();
      break;
    case SIGUSR1:
      // logrotate: the writer thread closes the access log and opens its path again.
      self->access_log_->reopen();
      break;
    default:
      break;
  }
}

ReloadResult Server::reload() {
  ReloadResult result;
  if (draining_) {
    result.errors.push_back("draining: reload refused");
    return result;
  }
  conf::LoadResult loaded = conf::loadConfigFile(config_path_);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) result.errors.push_back(e.str());
    LOG_ERROR("reload of %s failed, the running configuration stays (%zu errors):",
              config_path_.c_str(), result.errors.size());
    for (const auto& e : result.errors) LOG_ERROR("  %s", e.c_str());
    metrics_.configReloaded(false);
    return result;
  }
  const auto& old_cfg = snapshot()->config();
  const auto& new_cfg = *loaded.config;
  if (old_cfg.server.workers != new_cfg.server.workers ||
      old_cfg.server.admin.bind.str() != new_cfg.server.admin.bind.str())
    LOG_WARN("reload: changes to workers or the admin address apply at restart");

  // New certificates: a failure keeps the running configuration and its certificates.
  auto tls_set = loadTls(new_cfg, &result.errors);
  if (!tls_set) {
    LOG_ERROR("reload of %s failed: TLS certificates; the running configuration stays",
              config_path_.c_str());
    metrics_.configReloaded(false);
    return result;
  }
  {
    // Listeners are bound at start: one that lost its tls: block keeps serving TLS with its
    // current certificates until a restart (a plain listener cannot become TLS either).
    std::shared_ptr<const tls::TlsSet> old_set;
    {
      std::lock_guard<std::mutex> lock(snapshot_mu_);
      old_set = tls_;
    }
    std::shared_ptr<tls::TlsSet> merged;
    if (old_set) {
      for (const auto& [name, ctx] : old_set->by_listener) {
        if (tls_set->by_listener.count(name)) continue;
        if (!merged) merged = std::make_shared<tls::TlsSet>(*tls_set);
        merged->by_listener.emplace(name, ctx);
        LOG_WARN("reload: listener %s keeps TLS and its certificates until a restart",
                 name.c_str());
      }
    }
    if (merged) tls_set = merged;
  }
  // Listeners: unchanged ones keep their sockets (no connection notices the
  // reload); new ones are bound now, so a port in use fails the reload
  // before anything changed; removed ones stop accepting after the swap.
  std::vector<std::vector<ListenSocket>> added(workers_.size());
  std::vector<std::string> removed;
  std::map<std::string, std::string> was_bound = bound_;
  for (const auto& [name, bind] : was_bound) {
    auto it = std::find_if(new_cfg.listeners.begin(), new_cfg.listeners.end(),
                           [&](const conf::Listener& l) { return l.name == name; });
    if (it == new_cfg.listeners.end() || it->bind.str() != bind) removed.push_back(name);
  }
  for (const auto& name : removed) bound_.erase(name);
  for (const auto& l : new_cfg.listeners) {
    if (bound_.count(l.name)) continue;
    std::string error;
    if (!bindListener(l, added, &error)) {
      result.errors.push_back("listener " + l.name + ": " + error);
      LOG_ERROR("reload of %s failed: listener %s: %s; the running configuration stays",
                config_path_.c_str(), l.name.c_str(), error.c_str());
      bound_ = std::move(was_bound);  // the sockets bound so far close with `added`
      metrics_.configReloaded(false);
      return result;
    }
  }
  for (const auto& name : removed) LOG_INFO("listener %s removed", name.c_str());
  auto snap = Snapshot::build(loaded.config, ++generation_, snapshot().get());
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    snapshot_ = snap;
    tls_ = tls_set;
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->setSnapshot(snap);
    workers_[i]->setTls(tls_set);
    if (!removed.empty() || !added[i].empty())
      workers_[i]->updateListeners(std::move(added[i]), removed);
  }
  health_checker_.update(snap);
  if (access_log_) access_log_->configure(new_cfg.server.access_log);
  metrics_.setRequestMetrics(new_cfg.server.request_metrics);
  metrics_.configReloaded(true);
  LOG_INFO("reloaded %s (generation %llu)", config_path_.c_str(),
           static_cast<unsigned long long>(generation_));
  result.ok = true;
  return result;
}

std::shared_ptr<const tls::TlsSet> Server::loadTls(const conf::Config& cfg,
                                                   std::vector<std::string>* errors) {
  tls::LoadReport report;
  auto set = tls::buildTlsSet(cfg, report);
  for (const auto& w : report.warnings) LOG_WARN("tls: %s", w.c_str());
  for (const auto& e : report.errors) {
    LOG_ERROR("tls: %s", e.c_str());
    if (errors) errors->push_back(e);
  }
  if (set) {
    for (const auto& c : set->certificates())
      LOG_INFO("tls: %s serves %zu name(s), %s, expires at %lld", c.path.c_str(), c.names.size(),
               c.ecdsa ? "ECDSA" : "RSA", static_cast<long long>(c.not_after));
  }
  return set;
}

void Server::checkExpiry() {
  std::shared_ptr<const tls::TlsSet> set;
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    set = tls_;
  }
  if (!set) return;
  int64_t now = static_cast<int64_t>(time(nullptr));
  for (const auto& c : set->certificates()) {
    if (c.not_after - now < tls::kExpiryWarningSeconds)
      LOG_WARN("tls: %s: the certificate expires within 14 days (in %.1f days)", c.path.c_str(),
               static_cast<double>(c.not_after - now) / 86400.0);
  }
}

ReloadResult Server::reloadFromOtherThread() {
  auto promise = std::make_shared<std::promise<ReloadResult>>();
  auto future = promise->get_future();
  loop_.post([this, promise] { promise->set_value(reload()); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ReloadResult r;
    r.errors.push_back("reload did not finish within 30s");
    return r;
  }
  return future.get();
}

void Server::beginDrain() {
  if (draining_.exchange(true)) {
    LOG_WARN("second stop signal: exiting now");
    event_base_loopbreak(loop_.base());
    return;
  }
  metrics_.setDraining(true);
  // The new process answers on the admin address from now on.
  if (handed_off_) admin_->stopAccepting();
  auto timeout = snapshot()->config().server.drain_timeout;
  LOG_INFO("draining: no new connections, finishing in-flight requests (up to %lld ms)",
           static_cast<long long>(timeout.count()));
  for (auto& w : workers_) w->drain();
  drain_timer_.reset(evtimer_new(
      loop_.base(),
      [](evutil_socket_t, short, void* arg) {
        LOG_WARN("drain_timeout reached: closing the remaining connections");
        event_base_loopbreak(static_cast<Server*>(arg)->loop_.base());
      },
      this));
  timeval tv = toTimeval(static_cast<uint64_t>(timeout.count()));
  evtimer_add(drain_timer_.get(), &tv);
}

void Server::workerDrained() {
  if (workers_running_.fetch_sub(1) == 1) {
    loop_.post([this] {
      LOG_INFO("drained");
      event_base_loopexit(loop_.base(), nullptr);
    });
  }
}

bool Server::admitConnection(const ClientInfo& client, const conf::Limits& limits) {
  if (connections_.fetch_add(1, std::memory_order_relaxed) >= limits.max_connections) {
    connections_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  IpShard& shard = ip_shards_[std::hash<std::string>{}(client.ip) % kIpShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  uint32_t& n = shard.counts[client.ip];
  if (n >= limits.max_connections_per_ip) {
    if (n == 0) shard.counts.erase(client.ip);
    connections_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  ++n;
  return true;
}

void Server::releaseConnection(const ClientInfo& client) {
  connections_.fetch_sub(1, std::memory_order_relaxed);
  IpShard& shard = ip_shards_[std::hash<std::string>{}(client.ip) % kIpShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.counts.find(client.ip);
  if (it != shard.counts.end() && --it->second == 0) shard.counts.erase(it);
}

}  // namespace edge
