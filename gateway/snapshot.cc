#include "gateway/snapshot.h"

#include <netdb.h>
#include <string.h>

#include "gateway/log.h"

namespace edge {

std::shared_ptr<const Snapshot> Snapshot::build(std::shared_ptr<const conf::Config> config,
                                                uint64_t generation, const Snapshot* previous) {
  auto snap = std::make_shared<Snapshot>();
  snap->config_ = std::move(config);
  snap->generation_ = generation;
  char buf[256];
  for (const auto& site : snap->config_->sites) {
    for (const auto& h : site.hosts) {
      std::string_view norm = normalizeHost(h, buf, sizeof buf);
      const std::string key(norm);
      HostMatch match{&site, &h, false};
      for (const auto& a : site.aliases) match.alias |= normalizeHost(a, buf, sizeof buf) == key;
      if (!key.empty()) snap->sites_by_host_.emplace(key, match);
      // "::1" written without brackets matches the bracketed Host form too.
      if (h.find(':') != std::string::npos && h.front() != '[') {
        snap->sites_by_host_.emplace("[" + h + "]", match);
      }
    }
    snap->redirect_maps_.emplace_back(site.redirects);
  }
  for (const auto& site : snap->config_->sites) {
    for (const auto& route : site.routes) {
      auto it = snap->config_->upstreams.find(route.upstream);
      if (it != snap->config_->upstreams.end()) snap->upstream_by_route_[&route] = &it->second;
    }
  }
  for (const auto& [name, up] : snap->config_->upstreams) {
    for (const auto& server : up.servers) {
      ResolvedAddr& r = snap->resolved_[&server];
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      std::string port = std::to_string(server.port);
      int rc = getaddrinfo(server.host.c_str(), port.c_str(), &hints, &res);
      if (rc != 0 || !res) {
        LOG_WARN("upstream %s: cannot resolve %s: %s (requests to it answer 502)", name.c_str(),
                 server.host.c_str(), gai_strerror(rc));
        continue;
      }
      memcpy(&r.sa, res->ai_addr, res->ai_addrlen);
      r.len = res->ai_addrlen;
      r.ok = true;
      freeaddrinfo(res);
    }
  }
  std::unordered_map<std::string, std::shared_ptr<ServerHealth>> kept;
  if (previous)
    for (const auto& e : previous->health_entries_)
      kept.emplace(e.upstream->name + " " + e.server->str(), e.health);
  for (const auto& [name, up] : snap->config_->upstreams) {
    snap->health_base_[&up] = snap->health_entries_.size();
    for (const auto& server : up.servers) {
      auto it = kept.find(name + " " + server.str());
      auto health = it != kept.end() ? it->second : std::make_shared<ServerHealth>();
      snap->health_entries_.push_back(HealthEntry{&up, &server, std::move(health)});
    }
  }
  return snap;
}

ServerHealth& Snapshot::health(const conf::Upstream& up, size_t index) const {
  return *health_entries_[health_base_.at(&up) + index].health;
}

const conf::Upstream* Snapshot::upstreamFor(const conf::Route* route) const {
  auto it = upstream_by_route_.find(route);
  return it == upstream_by_route_.end() ? nullptr : it->second;
}

const ResolvedAddr& Snapshot::resolved(const conf::HostPort& server) const {
  static const ResolvedAddr kNone;
  auto it = resolved_.find(&server);
  return it == resolved_.end() ? kNone : it->second;
}

std::string_view Snapshot::normalizeHost(std::string_view host, char* buf, size_t buf_len) {
  if (host.empty() || host.size() >= buf_len) return {};
  std::string_view name = host;
  if (host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return {};
    name = host.substr(0, close + 1);
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return {};
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      // More than one colon without brackets: not a valid Host.
      if (host.find(':', colon + 1) != std::string_view::npos) return {};
      std::string_view port = host.substr(colon + 1);
      for (char c : port)
        if (c < '0' || c > '9') return {};
      name = host.substr(0, colon);
    }
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  }
  if (name.empty()) return {};
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return std::string_view(buf, name.size());
}

HostMatch Snapshot::matchHost(std::string_view host) const {
  char buf[256];
  std::string_view norm = normalizeHost(host, buf, sizeof buf);
  if (norm.empty()) return {};
  auto it = sites_by_host_.find(norm);
  return it == sites_by_host_.end() ? HostMatch{} : it->second;
}

const conf::RedirectMap& Snapshot::redirectMap(const conf::Site& site) const {
  // Sites live in one vector of the config this snapshot owns.
  return redirect_maps_[static_cast<size_t>(&site - config_->sites.data())];
}

const conf::Route* Snapshot::findRoute(const conf::Site& site, std::string_view method,
                                       std::string_view path) {
  for (const auto& r : site.routes) {
    const auto& m = r.match;
    if (!m.path.empty()) {
      if (path != m.path) continue;
    } else if (path.substr(0, m.path_prefix.size()) != m.path_prefix) {
      continue;
    }
    if (!m.methods.empty()) {
      bool found = false;
      for (const auto& meth : m.methods) {
        // HEAD is served by GET routes, as every HTTP server does.
        if (meth == method || (method == "HEAD" && meth == "GET")) {
          found = true;
          break;
        }
      }
      if (!found) continue;
    }
    return &r;
  }
  return nullptr;
}

const conf::Upstream* Snapshot::findUpstream(std::string_view name) const {
  auto it = config_->upstreams.find(std::string(name));
  return it == config_->upstreams.end() ? nullptr : &it->second;
}

}  // namespace edge
