#include "cache/hit_window.h"

#include <algorithm>

namespace edge::cache {
namespace {
std::mutex g_windows_mu;
std::vector<HitWindow*> g_windows;
}  // namespace

HitWindow::HitWindow() {
  std::lock_guard<std::mutex> lock(g_windows_mu);
  g_windows.push_back(this);
}

HitWindow::~HitWindow() {
  std::lock_guard<std::mutex> lock(g_windows_mu);
  std::erase(g_windows, this);
}

void HitWindow::record(const conf::Site& site, const conf::Route& route, bool hit,
                       uint64_t now_us) {
  std::lock_guard<std::mutex> lock(mu_);
  Counts* c = nullptr;
  auto it = by_route_.find(&route);
  if (it != by_route_.end() && *it->second.first == route.name) {
    c = it->second.second;
  } else {
    auto& slot = by_name_[{site.name, route.name}];
    c = &slot;
    by_route_[&route] = {&route.name, c};
  }
  uint64_t period = now_us / kSliceUs + 1;
  size_t i = period % kSlices;
  if (c->period[i] != period) {
    c->period[i] = period;
    c->hits[i] = c->lookups[i] = 0;
  }
  ++c->lookups[i];
  if (hit) ++c->hits[i];
}

std::vector<RouteCacheCounts> HitWindow::collect(uint64_t now_us) {
  uint64_t period = now_us / kSliceUs + 1;
  std::map<std::pair<std::string, std::string>, RouteCacheCounts> merged;
  std::lock_guard<std::mutex> lock(g_windows_mu);
  for (HitWindow* w : g_windows) {
    std::lock_guard<std::mutex> wl(w->mu_);
    for (const auto& [name, c] : w->by_name_) {
      RouteCacheCounts& out = merged[name];
      out.site = name.first;
      out.route = name.second;
      for (size_t i = 0; i < kSlices; ++i) {
        if (c.period[i] == 0 || c.period[i] + kSlices <= period) continue;  // older than 60 s
        out.hits += c.hits[i];
        out.lookups += c.lookups[i];
      }
    }
  }
  std::vector<RouteCacheCounts> out;
  out.reserve(merged.size());
  for (auto& [k, v] : merged) out.push_back(std::move(v));
  return out;
}

}  // namespace edge::cache
