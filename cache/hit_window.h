#pragma once
// Per-route cache hit counts over the last 60 s, for the status page
// (StatusSources::cache). Each worker's CachePolicy owns one HitWindow: the
// worker records under its own lock (contended only by a page refresh), and
// the admin thread merges every live window.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "conf/config.h"
#include "gateway/admin/status_page.h"

namespace edge::cache {

class HitWindow {
 public:
  static constexpr uint64_t kSliceUs = 10'000'000;  // six 10 s slices make the minute
  static constexpr size_t kSlices = 6;

  HitWindow();
  ~HitWindow();
  HitWindow(const HitWindow&) = delete;
  HitWindow& operator=(const HitWindow&) = delete;

  // Loop thread: one cache decision of a route; hit counts hit, stale and revalidated.
  void record(const conf::Site& site, const conf::Route& route, bool hit, uint64_t now_us);
  // Any thread: every worker's counts, merged per route, over the last 60 s.
  static std::vector<RouteCacheCounts> collect(uint64_t now_us);

 private:
  struct Counts {
    std::array<uint64_t, kSlices> period{};  // now / kSliceUs + 1 when filled; 0 never
    std::array<uint64_t, kSlices> hits{};
    std::array<uint64_t, kSlices> lookups{};
  };
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Counts> by_name_;
  // Route addresses of the current snapshot; checked by name (a reload may reuse one).
  std::unordered_map<const conf::Route*, std::pair<const std::string*, Counts*>> by_route_;
};

}  // namespace edge::cache
