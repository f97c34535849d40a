#pragma once
// One immutable view of the configuration plus the lookup tables derived from
// it. Built on the main thread at start and on reload; workers and exchanges
// hold it through std::shared_ptr<const Snapshot>, so an exchange finishes on
// the snapshot it started with.
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "conf/redirect_map.h"
#include "gateway/upstream/health.h"

namespace edge {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// An origin server's address, resolved when the snapshot is built (on the
// main thread) so that workers never block on DNS.
struct ResolvedAddr {
  sockaddr_storage sa{};
  socklen_t len = 0;
  bool ok = false;
};

// A site found by Host, with the host as the config spells it: redirects are
// built from that, never from the request's bytes.
struct HostMatch {
  const conf::Site* site = nullptr;
  const std::string* host = nullptr;  // one of site->hosts
  bool alias = false;                 // it is one of site->aliases
};

class Snapshot {
 public:
  // previous: the running snapshot on reload; servers it shares with the new
  // configuration (same upstream name and host:port) keep their health.
  static std::shared_ptr<const Snapshot> build(std::shared_ptr<const conf::Config> config,
                                               uint64_t generation,
                                               const Snapshot* previous = nullptr);

  const conf::Config& config() const { return *config_; }
  std::shared_ptr<const conf::Config> configPtr() const { return config_; }
  uint64_t generation() const { return generation_; }

  // host is the raw Host value: case, a port and a trailing dot are ignored.
  const conf::Site* findSite(std::string_view host) const { return matchHost(host).site; }
  HostMatch matchHost(std::string_view host) const;
  // The site's `redirects:` as a trie (conf/redirect_map.h), built with the snapshot.
  const conf::RedirectMap& redirectMap(const conf::Site& site) const;
  // First route whose path / prefix and methods match, or nullptr.
  static const conf::Route* findRoute(const conf::Site& site, std::string_view method,
                                      std::string_view path);
  const conf::Upstream* findUpstream(std::string_view name) const;
  // The route's upstream, looked up once at build time.
  const conf::Upstream* upstreamFor(const conf::Route* route) const;
  // The resolved address of one of this snapshot's upstream servers.
  const ResolvedAddr& resolved(const conf::HostPort& server) const;
  // The health of server `index` of an upstream of this snapshot.
  ServerHealth& health(const conf::Upstream& up, size_t index) const;
  struct HealthEntry {
    const conf::Upstream* upstream;
    const conf::HostPort* server;
    std::shared_ptr<ServerHealth> health;
  };
  // Every server of every upstream, in config order.
  const std::vector<HealthEntry>& healthEntries() const { return health_entries_; }

  // Lower-cases, strips ":port" and one trailing dot; IPv6 literals keep their
  // brackets. Writes into buf (at least 256 bytes); returns empty on garbage.
  static std::string_view normalizeHost(std::string_view host, char* buf, size_t buf_len);

 private:
  std::shared_ptr<const conf::Config> config_;
  uint64_t generation_ = 0;
  std::unordered_map<std::string, HostMatch, StringHash, std::equal_to<>> sites_by_host_;
  std::vector<conf::RedirectMap> redirect_maps_;  // by index in config().sites
  std::unordered_map<const conf::Route*, const conf::Upstream*> upstream_by_route_;
  std::unordered_map<const conf::HostPort*, ResolvedAddr> resolved_;
  std::vector<HealthEntry> health_entries_;
  // Where an upstream's servers start in health_entries_.
  std::unordered_map<const conf::Upstream*, size_t> health_base_;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace edge
