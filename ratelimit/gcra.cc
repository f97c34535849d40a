#include "ratelimit/gcra.h"

#include <algorithm>
#include <chrono>

namespace edge::ratelimit {

Limit limitFor(const conf::RateLimitPolicy& p) {
  Limit l;
  const int64_t window_us = std::chrono::duration_cast<std::chrono::microseconds>(p.window).count();
  const int64_t rate = static_cast<int64_t>(std::max<uint64_t>(p.rate, 1));
  // At least 1 µs so that a silly rate like 10000000/1s still advances time.
  l.interval_us = std::max<int64_t>(window_us / rate, 1);
  // Bounded so that burst * interval cannot overflow (2^62 µs is ~146000 years).
  const int64_t max_burst = (int64_t{1} << 62) / l.interval_us;
  l.burst = std::clamp<int64_t>(static_cast<int64_t>(std::min<uint64_t>(p.burst, 1ull << 62)), 1,
                                std::max<int64_t>(max_burst, 1));
  return l;
}

Decision decide(const Limit& limit, int64_t now_us, int64_t tat, int64_t* new_tat) {
  Decision d;
  const int64_t base = std::max(tat, now_us);
  const int64_t next = base + limit.interval_us;
  // The earliest time this request conforms: the bucket may run at most
  // `burst` intervals ahead of now.
  const int64_t allow_at = next - limit.burst * limit.interval_us;
  if (now_us < allow_at) {
    d.allowed = false;
    d.remaining = 0;
    d.retry_after_us = allow_at - now_us;
    d.reset_us = base - now_us;
    if (new_tat) *new_tat = tat;
    return d;
  }
  d.allowed = true;
  d.remaining = (now_us - allow_at) / limit.interval_us;
  d.reset_us = next - now_us;
  if (new_tat) *new_tat = next;
  return d;
}

}  // namespace edge::ratelimit
