#include "ratelimit/key.h"

#include <openssl/sha.h>

#include <cstring>
#include <random>

namespace edge::ratelimit {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void appendIp(const IpAddr& a, unsigned prefix_len, std::string& out) {
  IpAddr m = maskForKey(a, prefix_len);
  out.append(m.v6 ? "6:" : "4:");
  out.append(reinterpret_cast<const char*>(m.bytes), m.v6 ? 16 : 4);
}

uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

const uint64_t kSeed = [] {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}();

}  // namespace

IpAddr maskForKey(const IpAddr& a, unsigned prefix_len) {
  IpAddr m = a;
  if (!m.v6) {
    memset(m.bytes + 4, 0, 12);
    return m;
  }
  if (prefix_len >= 128) return m;
  unsigned full = prefix_len / 8, bits = prefix_len % 8;
  if (bits) {
    m.bytes[full] &= static_cast<uint8_t>(0xff << (8 - bits));
    ++full;
  }
  memset(m.bytes + full, 0, 16 - full);
  return m;
}

std::string_view findCookie(const http1::RequestHead& req, std::string_view name) {
  for (const auto& f : req.fields) {
    if (!http1::iequals(req.name(f), "cookie")) continue;
    std::string_view list = req.value(f);
    while (!list.empty()) {
      size_t semi = list.find(';');
      std::string_view pair = trim(list.substr(0, semi));
      list = semi == std::string_view::npos ? std::string_view() : list.substr(semi + 1);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (trim(pair.substr(0, eq)) != name) continue;  // cookie names are case-sensitive
      std::string_view v = trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return {};
}

void buildKey(const conf::RateLimitPolicy& p, const IpAddr& client, const http1::RequestHead& req,
              std::string& out) {
  // The policy name first: two policies never share a bucket.
  out.append(p.name).push_back('\0');
  for (const std::string& k : p.key) {
    std::string_view value;
    char kind = 'i';
    if (k.rfind("header:", 0) == 0) {
      if (const http1::Field* f = req.find(std::string_view(k).substr(7)))
        value = trim(req.value(*f));
      kind = 'h';
    } else if (k.rfind("cookie:", 0) == 0) {
      value = findCookie(req, std::string_view(k).substr(7));
      kind = 'c';
    }
    if (kind == 'i' || value.empty()) {
      appendIp(client, p.ipv6_prefix, out);
    } else {
      // Tagged and length-prefixed: a header value can never pose as an
      // address or as two values.
      out.push_back(kind);
      out.append(k).push_back('\0');
      out.append(std::to_string(value.size())).push_back(':');
      out.append(value);
    }
    out.push_back('\0');
  }
}

uint64_t localHash(std::string_view key) {
  uint64_t h = kSeed ^ (key.size() * 0x9e3779b97f4a7c15ull);
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t w;
    memcpy(&w, key.data() + i, 8);
    h = mix(h ^ w) + 0x9e3779b97f4a7c15ull;
  }
  uint64_t tail = 0;
  memcpy(&tail, key.data() + i, key.size() - i);
  return mix(h ^ tail ^ (static_cast<uint64_t>(key.size() - i) << 56));
}

std::string stableHash(std::string_view key) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), md);
  static const char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

}  // namespace edge::ratelimit
