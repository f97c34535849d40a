#pragma once
// Token bucket as GCRA (generic cell rate algorithm): the whole state of a
// bucket is one timestamp, the theoretical arrival time (TAT) of the next
// request if the client sent at exactly the sustained rate. This is what
// makes a bucket cheap in the local store (16 bytes) and a single integer in
// Redis, and it is exactly equivalent to a token bucket of `burst` tokens
// refilled one every `interval`.
//
// Pure functions of an injected time: no clock is read here.
#include <cstdint>

#include "conf/config.h"

namespace edge::ratelimit {

struct Limit {
  int64_t interval_us = 0;  // time to earn one token: window / rate
  int64_t burst = 1;        // bucket size, at least 1
};

// `burst: 0` in the config means a bucket of one token (requests spaced by
// the interval), as nginx's limit_req without burst.
Limit limitFor(const conf::RateLimitPolicy& p);

struct Decision {
  bool allowed = false;
  int64_t remaining = 0;       // whole tokens left after this request
  int64_t retry_after_us = 0;  // when refused: time until this request would pass
  int64_t reset_us = 0;        // time until the bucket is full again
};

// Decides one request at now_us against the stored TAT (0 = never seen) and
// returns the TAT to store when the request is allowed (unchanged when
// refused: a refused request costs nothing).
Decision decide(const Limit& limit, int64_t now_us, int64_t tat, int64_t* new_tat);

// Whole seconds, rounded up (Retry-After must never invite a request too early).
inline int64_t ceilSeconds(int64_t us) {
  return us <= 0 ? 0 : (us + 999999) / 1000000;
}

}  // namespace edge::ratelimit
