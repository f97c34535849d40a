#pragma once
// The health of one origin server, shared by every worker (passive results of
// real requests) and the health-check thread (active probes). Plain atomics:
// the balancer reads them on every pick without a lock. One object per
// (upstream, server) lives as long as a snapshot names that pair, and a reload
// hands it to the next snapshot, so health survives a reload.
#include <atomic>
#include <cstdint>

#include "conf/config.h"

namespace edge {

class ServerHealth {
 public:
  // Any thread: may the balancer send a request there now?
  bool available(uint64_t now_us) const {
    return active_ok_.load(std::memory_order_relaxed) &&
           ejected_until_us_.load(std::memory_order_relaxed) <= now_us;
  }
  bool activeOk() const { return active_ok_.load(std::memory_order_relaxed); }
  bool ejected(uint64_t now_us) const {
    return ejected_until_us_.load(std::memory_order_relaxed) > now_us;
  }

  // Health-check thread only.
  void setActiveOk(bool ok) { active_ok_.store(ok, std::memory_order_relaxed); }

  // Worker threads: the outcome of one request to this server. Each returns
  // true when it is the call that ejected the server (to log it once).
  // Failures are connect errors, resets and timeouts; a response resets them.
  bool recordFailure(const conf::OutlierDetection& od, uint64_t now_us) {
    five_xx_.store(0, std::memory_order_relaxed);
    return count(failures_, od.consecutive_failures, od, now_us);
  }
  bool recordResponse(uint16_t status, const conf::OutlierDetection& od, uint64_t now_us) {
    failures_.store(0, std::memory_order_relaxed);
    if (status < 500) {
      five_xx_.store(0, std::memory_order_relaxed);
      return false;
    }
    return count(five_xx_, od.consecutive_5xx, od, now_us);
  }

 private:
  bool count(std::atomic<uint32_t>& counter, unsigned limit, const conf::OutlierDetection& od,
             uint64_t now_us) {
    if (limit == 0) return false;
    if (counter.fetch_add(1, std::memory_order_relaxed) + 1 < limit) return false;
    counter.store(0, std::memory_order_relaxed);
    // After eject_for the server is tried again; failing again ejects it again.
    uint64_t until = now_us + static_cast<uint64_t>(od.eject_for.count()) * 1000;
    return ejected_until_us_.exchange(until, std::memory_order_relaxed) <= now_us;
  }

  std::atomic<bool> active_ok_{true};  // servers start in rotation, as with nginx and HAProxy
  std::atomic<uint64_t> ejected_until_us_{0};  // Loop::nowMicros() clock
  std::atomic<uint32_t> failures_{0};
  std::atomic<uint32_t> five_xx_{0};
};

}  // namespace edge
