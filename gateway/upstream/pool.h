#pragma once
// Per-worker origin connection pools and balancing state. Only the worker's
// loop thread touches them, so there are no locks. Servers are keyed by their
// resolved address, so idle connections survive a reload that keeps a server.
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "gateway/snapshot.h"
#include "gateway/upstream/upstream_connection.h"

namespace edge {

struct AddrKey {
  uint8_t bytes[18] = {};  // 16 address bytes + 2 port bytes
  bool operator==(const AddrKey& o) const { return memcmp(bytes, o.bytes, sizeof bytes) == 0; }
};
struct AddrKeyHash {
  size_t operator()(const AddrKey& k) const {
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(k.bytes), sizeof k.bytes));
  }
};

class UpstreamPools;

struct ServerState final : UpstreamHandler {
  UpstreamPools* pools = nullptr;
  ResolvedAddr addr;
  std::string name;                                       // host:port, for logs
  uint32_t active = 0;                                    // connections carrying an exchange
  std::vector<std::unique_ptr<UpstreamConnection>> idle;  // most recently used last

  // Idle connections report here: any byte or EOF means the origin closed or
  // misbehaved, so the connection is dropped; the timer is the idle timeout.
  void onUpstreamReadable(UpstreamConnection& c) override { drop(c); }
  void onUpstreamWritable(UpstreamConnection& c) override {}
  void onUpstreamTimer(UpstreamConnection& c) override { drop(c); }
  void drop(UpstreamConnection& c);
};

class UpstreamPools {
 public:
  explicit UpstreamPools(Loop& loop) : loop_(loop) {}
  Loop& loop() { return loop_; }

  ServerState& server(const conf::HostPort& hp, const ResolvedAddr& addr);
  // An idle connection to reuse, or nullptr.
  std::unique_ptr<UpstreamConnection> takeIdle(ServerState& s);
  // A new non-blocking connect in progress, or nullptr with errno set.
  std::unique_ptr<UpstreamConnection> connect(ServerState& s);
  // Keeps the connection for reuse if the server has room for it; otherwise
  // hands it back for the caller to dispose of outside its callbacks.
  [[nodiscard]] std::unique_ptr<UpstreamConnection> release(std::unique_ptr<UpstreamConnection> c,
                                                            unsigned keepalive);

  // Balancing: the index of the server to try, among those the health checks
  // and passive ejection leave in rotation, skipping those whose bit is set in
  // `tried` when another one is left. kNoServer when no server is available.
  static constexpr size_t kNoServer = SIZE_MAX;
  size_t pick(const conf::Upstream& up, const Snapshot& snap, uint64_t tried, uint64_t random,
              uint64_t now_us);

  void closeIdle();  // drain: no more reuse

 private:
  Loop& loop_;
  std::unordered_map<AddrKey, std::unique_ptr<ServerState>, AddrKeyHash> servers_;
  std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> rr_;
  bool closing_ = false;
};

}  // namespace edge
