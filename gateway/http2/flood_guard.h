#pragma once
// Per-connection counters that tell a misbehaving HTTP/2 client from a busy
// one: frames that cost us work but carry no request (PING, SETTINGS, empty
// DATA, RST_STREAM of streams we already started, streams we refuse for being
// over the concurrency limit) are allowed up to a rate;
// past it the connection gets GOAWAY ENHANCE_YOUR_CALM. nghttp2's own limits
// (reset rate, outbound ACK queue, CONTINUATION count) come first; this is
// the second line, and it also sees a client that cancels its streams as
// fast as it opens them (CVE-2023-44487) without ever exceeding a rate
// nghttp2 measures. Pure logic with an injected clock (microseconds).
#include <cstdint>

namespace edge::http2 {

enum class Flood : uint8_t { kPing, kSettings, kEmptyData, kReset, kRefused, kCount };

class FloodGuard {
 public:
  struct Limits {
    uint32_t per_second[static_cast<int>(Flood::kCount)] = {100, 100, 100, 200, 100};
    // Resets are also judged against completed responses: a client may
    // cancel streams, but not most of them, and not many in a row.
    uint32_t reset_allowance = 100;
  };

  FloodGuard() = default;
  explicit FloodGuard(Limits limits) : limits_(limits) {}

  // Counts one frame of that kind at now_us; false when the connection is
  // over a limit (and stays so).
  bool note(Flood kind, uint64_t now_us);
  void noteCompleted() { ++completed_; }
  bool tripped() const { return tripped_; }
  uint64_t resets() const { return resets_; }

 private:
  Limits limits_;
  uint64_t window_start_us_ = 0;
  uint32_t in_window_[static_cast<int>(Flood::kCount)] = {};
  uint64_t resets_ = 0;
  uint64_t completed_ = 0;
  bool tripped_ = false;
};

}  // namespace edge::http2
