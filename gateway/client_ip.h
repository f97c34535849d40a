#pragma once
// Who the client really is when edgegate sits behind other proxies: shared by
// the upstream step (whether to keep X-Forwarded-For) and by the rate limiter
// (whose bucket a request is charged to). Loop thread; pure functions.
#include <cstdint>

#include "conf/config.h"
#include "gateway/http1/parser.h"

namespace edge {

struct ClientInfo;

struct IpAddr {
  bool v6 = false;
  uint8_t bytes[16] = {};  // network order; the first 4 for IPv4
};

// The direct peer is listed in server.trusted_proxies.
bool trustedPeer(const conf::Config& cfg, const ClientInfo& client);

// The real client's address: the peer itself unless it is a trusted proxy;
// then X-Forwarded-For is walked from the right (the entry the trusted proxy
// appended) past every trusted proxy, and the first other address is the
// client. An unparsable entry stops the walk at the last address known good,
// so a client cannot choose its own identity by sending garbage or a list of
// made-up addresses: only what trusted hops appended is believed.
// IPv4-mapped IPv6 addresses come back as IPv4.
IpAddr realClientAddr(const conf::Config& cfg, const ClientInfo& client,
                      const http1::RequestHead& req);

// Parses one textual address ("10.1.2.3", "2001:db8::1", "[2001:db8::1]",
// "10.1.2.3:5678"), surrounding spaces ignored.
bool parseIp(std::string_view text, IpAddr& out);

}  // namespace edge
