#include "gateway/http2/flood_guard.h"

namespace edge::http2 {
namespace {
constexpr uint64_t kWindowUs = 1000000;
}

bool FloodGuard::note(Flood kind, uint64_t now_us) {
  if (tripped_) return false;
  if (now_us - window_start_us_ >= kWindowUs) {
    window_start_us_ = now_us;
    for (auto& n : in_window_) n = 0;
  }
  int k = static_cast<int>(kind);
  if (++in_window_[k] > limits_.per_second[k]) tripped_ = true;
  if (kind == Flood::kReset) {
    ++resets_;
    // More resets than twice the completed responses, past a small allowance.
    if (resets_ > limits_.reset_allowance && resets_ > 2 * completed_) tripped_ = true;
  }
  return !tripped_;
}

}  // namespace edge::http2
