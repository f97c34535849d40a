#pragma once
// The identity of a bucket: which policy, and whose requests (client address,
// a header or a cookie, or several combined). Loop thread; pure functions.
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "gateway/client_ip.h"
#include "gateway/http1/parser.h"

namespace edge::ratelimit {

// Appends the key of `req` under policy `p` to out (binary; never shown). A
// header or cookie that is missing or empty falls back to the client address,
// so leaving the header out is no way around the limit.
void buildKey(const conf::RateLimitPolicy& p, const IpAddr& client, const http1::RequestHead& req,
              std::string& out);

// The value of cookie `name` in the request's Cookie fields, or empty.
std::string_view findCookie(const http1::RequestHead& req, std::string_view name);

// The client address reduced to what a client_ip key counts: IPv4 whole,
// IPv6 cut to prefix_len bits.
IpAddr maskForKey(const IpAddr& a, unsigned prefix_len);

// For the local store: fast, with a per-process random seed so that nobody
// can compute which keys share a slot.
uint64_t localHash(std::string_view key);
// For Redis: the same in every process (they must meet on one Redis key),
// and one-way, so a session cookie used as key never reaches Redis or a log.
// 32 hex characters of SHA-256.
std::string stableHash(std::string_view key);

}  // namespace edge::ratelimit
