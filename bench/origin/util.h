// Helpers of the test origin (bench/origin/origin.cc): header-only so that the origin stays one
// translation unit, built by the existing CMake target.
#pragma once

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::origin {

using std::string;
using std::string_view;

inline bool iequals(string_view a, string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

inline bool icontains(string_view hay, string_view needle) {
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

inline std::string_view trim(string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline bool parseUint(string_view s, uint64_t& out, int base = 10) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

inline bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

inline std::string urlDecode(string_view s) {
  string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    uint64_t v;
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && parseUint(s.substr(i + 1, 2), v, 16)) {
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Query parameters in order, URL-decoded; a repeated name appears repeatedly.
inline std::vector<std::pair<std::string, std::string>> parseQuery(string_view q) {
  std::vector<std::pair<string, string>> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    string_view part = q.substr(0, amp);
    q = amp == string_view::npos ? string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    out.emplace_back(urlDecode(part.substr(0, eq)),
                     eq == string_view::npos ? string() : urlDecode(part.substr(eq + 1)));
  }
  return out;
}

inline uint64_t queryUint(string_view q, string_view name, uint64_t dflt) {
  for (auto& [k, v] : parseQuery(q)) {
    uint64_t n;
    if (k == name && parseUint(v, n)) return n;
  }
  return dflt;
}

inline const char* reason(int status) {
  // clang-format off
  static constexpr std::pair<int, const char*> kReasons[] = {
      {200, "OK"}, {201, "Created"}, {204, "No Content"}, {301, "Moved Permanently"},
      {302, "Found"}, {304, "Not Modified"}, {307, "Temporary Redirect"},
      {308, "Permanent Redirect"}, {400, "Bad Request"}, {401, "Unauthorized"},
      {403, "Forbidden"}, {404, "Not Found"}, {413, "Content Too Large"},
      {429, "Too Many Requests"}, {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
      {503, "Service Unavailable"}, {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"}};
  // clang-format on
  for (auto& [code, text] : kReasons)
    if (code == status) return text;
  return status < 400 ? "OK" : "Error";
}

// A listening socket; with reusePort each worker has its own socket and accept queue.
inline int openListener(const string& host, const string& port, bool reusePort,
                        string& actualPort) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    fprintf(stderr, "edgegate-origin: %s:%s: %s\n", host.c_str(), port.c_str(), gai_strerror(rc));
    return -1;
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(res, freeaddrinfo);
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Only when our own workers share the port: otherwise a second origin on a busy port must fail.
  if (reusePort) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 4096) != 0) {
    fprintf(stderr, "edgegate-origin: %s:%s: %s\n", host.c_str(), port.c_str(), strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  char serv[16];
  getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, nullptr, 0, serv, sizeof serv, NI_NUMERICSERV);
  actualPort = serv;
  return fd;
}

// FIPS 180-4 SHA-256, so that /echo can prove a body crossed the proxy intact. Own code because the
// origin target links only libevent and nlohmann_json, not libcrypto.
class Sha256 {
 public:
  void update(const uint8_t* p, size_t n) {
    total_ += n;
    while (n > 0) {
      if (fill_ == 0 && n >= 64) {
        block(p);
        p += 64;
        n -= 64;
        continue;
      }
      size_t take = std::min(n, 64 - fill_);
      memcpy(buf_ + fill_, p, take);
      fill_ += take;
      p += take;
      n -= take;
      if (fill_ == 64) {
        block(buf_);
        fill_ = 0;
      }
    }
  }
  string hex() {
    uint64_t bits = total_ * 8;
    uint8_t pad[72] = {0x80};
    size_t padLen = (fill_ < 56 ? 56 : 120) - fill_;
    for (int i = 0; i < 8; ++i) pad[padLen + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
    update(pad, padLen + 8);
    string out;
    char tmp[9];
    for (uint32_t v : h_) {
      snprintf(tmp, sizeof tmp, "%08x", v);
      out += tmp;
    }
    return out;
  }

 private:
  static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void block(const uint8_t* p) {
    static constexpr uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = uint32_t(p[4 * i]) << 24 | uint32_t(p[4 * i + 1]) << 16 | uint32_t(p[4 * i + 2]) << 8 |
             uint32_t(p[4 * i + 3]);
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 =
          h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h_[0] += a, h_[1] += b, h_[2] += c, h_[3] += d, h_[4] += e, h_[5] += f, h_[6] += g, h_[7] += h;
  }
  uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint8_t buf_[64];
  size_t fill_ = 0;
  uint64_t total_ = 0;
};

}  // namespace edge::origin
