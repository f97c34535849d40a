#include "gateway/upstream/health_checker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gateway/log.h"

namespace edge {

// One server's checks. Lives on the checker thread.
class HealthProbe {
 public:
  HealthProbe(event_base* base, const conf::Upstream& up, const conf::HostPort& server)
      : base_(base), name_(up.name + " " + server.str()) {
    timer_ = makeEvent<HealthProbe, &HealthProbe::onTimer>(base_, -1, 0, this);
    deadline_ = makeEvent<HealthProbe, &HealthProbe::onDeadline>(base_, -1, 0, this);
  }

  // The configuration of a (re)loaded snapshot, which outlives this call's
  // effect: the checker holds the snapshot until the next one.
  void configure(const conf::Upstream& up, const conf::HostPort& server, const ResolvedAddr& addr,
                 std::shared_ptr<ServerHealth> health) {
    check_ = *up.health_check;
    addr_ = addr;
    health_ = std::move(health);
    request_ = "GET " + check_.path +
               " HTTP/1.1\r\nHost: " + (up.host_header.empty() ? server.str() : up.host_header) +
               "\r\nUser-Agent: edgegate-health-check\r\nConnection: close\r\n\r\n";
  }

  void schedule(uint64_t ms) {
    timeval tv = toTimeval(ms);
    event_add(timer_.get(), &tv);
  }

 private:
  void onTimer(short) {
    if (fd_) return;  // a check still running (timeout longer than interval)
    begin();
  }

  void begin() {
    response_.clear();
    sent_ = 0;
    if (!addr_.ok) return finish(false, "address not resolved");
    fd_.reset(::socket(addr_.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_) return finish(false, strerror(errno));
    if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr_.sa), addr_.len) != 0 &&
        errno != EINPROGRESS)
      return finish(false, strerror(errno));
    io_ = makeEvent<HealthProbe, &HealthProbe::onIo>(base_, fd_.get(), EV_WRITE | EV_PERSIST, this);
    event_add(io_.get(), nullptr);
    timeval tv = toTimeval(static_cast<uint64_t>(check_.timeout.count()));
    event_add(deadline_.get(), &tv);
  }

  void onIo(short what) {
    if (what & EV_WRITE) {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) return finish(false, strerror(err));
      ssize_t n = ::send(fd_.get(), request_.data() + sent_, request_.size() - sent_, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return finish(false, strerror(errno));
      if (n > 0) sent_ += static_cast<size_t>(n);
      if (sent_ < request_.size()) return;
      io_ =
          makeEvent<HealthProbe, &HealthProbe::onIo>(base_, fd_.get(), EV_READ | EV_PERSIST, this);
      event_add(io_.get(), nullptr);
      return;
    }
    char buf[512];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return finish(false, n == 0 ? "closed without a status line" : strerror(errno));
    // Only the status line matters; a longer one than this is no HTTP server.
    response_.append(buf, static_cast<size_t>(std::min<ssize_t>(n, 256)));
    size_t eol = response_.find("\r\n");
    if (eol == std::string::npos) {
      if (response_.size() >= 256) finish(false, "no status line");
      return;
    }
    // "HTTP/1.x NNN reason"
    int status = 0;
    if (response_.size() >= 12 && response_.compare(0, 7, "HTTP/1.") == 0 && response_[8] == ' ')
      status = atoi(response_.c_str() + 9);
    if (status >= 200 && status < 400) return finish(true, nullptr);
    std::string why = "status " + (status ? std::to_string(status) : std::string("unreadable"));
    finish(false, why.c_str());
  }

  void onDeadline(short) { finish(false, "timed out"); }

  void finish(bool ok, const char* why) {
    io_.reset();
    fd_.reset();
    event_del(deadline_.get());
    if (ok) {
      fails_ = 0;
      if (++passes_ >= check_.healthy_after && !health_->activeOk()) {
        health_->setActiveOk(true);
        LOG_INFO("health check: %s is healthy again (%u passed checks)", name_.c_str(), passes_);
      }
    } else {
      passes_ = 0;
      if (++fails_ >= check_.unhealthy_after && health_->activeOk()) {
        health_->setActiveOk(false);
        LOG_WARN("health check: %s is unhealthy (%u failed checks, last: %s)", name_.c_str(),
                 fails_, why);
      }
    }
    schedule(static_cast<uint64_t>(check_.interval.count()));
  }

  event_base* base_;
  std::string name_;
  conf::HealthCheck check_;
  ResolvedAddr addr_;
  std::shared_ptr<ServerHealth> health_;
  std::string request_;
  std::string response_;
  size_t sent_ = 0;
  unsigned passes_ = 0, fails_ = 0;
  UniqueFd fd_;
  EventPtr io_, timer_, deadline_;
};

HealthChecker::HealthChecker() = default;

HealthChecker::~HealthChecker() {
  stop();
}

void HealthChecker::start() {
  thread_ = std::thread([this] {
    // Probes come and go with reloads: an empty loop keeps waiting for them.
    event_base_loop(loop_.base(), EVLOOP_NO_EXIT_ON_EMPTY);
    probes_.clear();
    snapshot_.reset();
  });
}

void HealthChecker::update(SnapshotPtr snapshot) {
  loop_.post([this, s = std::move(snapshot)]() mutable { apply(std::move(s)); });
}

void HealthChecker::stop() {
  if (!thread_.joinable()) return;
  loop_.post([this] { event_base_loopbreak(loop_.base()); });
  thread_.join();
}

void HealthChecker::apply(SnapshotPtr snapshot) {
  std::map<std::string, std::unique_ptr<HealthProbe>> next;
  for (const auto& e : snapshot->healthEntries()) {
    if (!e.upstream->health_check) continue;
    std::string key = e.upstream->name + " " + e.server->str();
    auto it = probes_.find(key);
    std::unique_ptr<HealthProbe> probe;
    if (it != probes_.end()) {
      probe = std::move(it->second);
    } else {
      probe = std::make_unique<HealthProbe>(loop_.base(), *e.upstream, *e.server);
      probe->schedule(0);  // a new server is checked at once
    }
    probe->configure(*e.upstream, *e.server, snapshot->resolved(*e.server), e.health);
    next.emplace(std::move(key), std::move(probe));
  }
  probes_ = std::move(next);  // the probes of removed servers stop here
  snapshot_ = std::move(snapshot);
}

}  // namespace edge
