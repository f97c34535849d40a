#include "gateway/client_ip.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "gateway/exchange.h"

namespace edge {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void unmap(IpAddr& a) {
  if (a.v6 && memcmp(a.bytes, kMappedPrefix, 12) == 0) {
    memmove(a.bytes, a.bytes + 12, 4);
    memset(a.bytes + 4, 0, 12);
    a.v6 = false;
  }
}

bool trustedAddr(const conf::Config& cfg, const IpAddr& a) {
  for (const auto& cidr : cfg.server.trusted_proxies)
    if (cidr.contains(a.v6, a.bytes)) return true;
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool parseIp(std::string_view text, IpAddr& out) {
  text = trim(text);
  if (text.empty() || text.size() > 64) return false;
  char buf[65];
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    text = text.substr(1, close - 1);
  } else if (text.find(':') != text.rfind(':')) {
    // Two or more colons: a bare IPv6 address.
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    text = text.substr(0, colon);  // IPv4 with a port
  }
  memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddr a;
  if (inet_pton(AF_INET, buf, a.bytes) == 1) {
    a.v6 = false;
  } else if (inet_pton(AF_INET6, buf, a.bytes) == 1) {
    a.v6 = true;
    unmap(a);
  } else {
    return false;
  }
  out = a;
  return true;
}

bool trustedPeer(const conf::Config& cfg, const ClientInfo& client) {
  for (const auto& cidr : cfg.server.trusted_proxies)
    if (cidr.contains(client.v6, client.addr)) return true;
  return false;
}

IpAddr realClientAddr(const conf::Config& cfg, const ClientInfo& client,
                      const http1::RequestHead& req) {
  IpAddr current;
  current.v6 = client.v6;
  memcpy(current.bytes, client.addr, 16);
  unmap(current);
  if (!trustedPeer(cfg, client)) return current;
  // Entries in the order the hops appended them: several X-Forwarded-For
  // fields count as one comma-separated list (RFC 9110 5.3).
  std::string_view fields[32];
  size_t nfields = 0;
  for (const auto& f : req.fields) {
    if (nfields < 32 && http1::iequals(req.name(f), "x-forwarded-for"))
      fields[nfields++] = req.value(f);
  }
  for (size_t fi = nfields; fi-- > 0;) {
    std::string_view list = fields[fi];
    while (!list.empty()) {
      size_t comma = list.rfind(',');
      std::string_view entry = comma == std::string_view::npos ? list : list.substr(comma + 1);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
      if (trim(entry).empty()) continue;
      IpAddr a;
      if (!parseIp(entry, a)) return current;
      current = a;
      if (!trustedAddr(cfg, current)) return current;
    }
  }
  return current;
}

}  // namespace edge
