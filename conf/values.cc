// The value grammars of SPEC.md (durations, sizes, rates, host:port, CIDR)
// and their inverses. Pure functions: no yaml-cpp, no environment.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "conf/loader.h"
#include "conf/values.h"

namespace edge::conf {
namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Reads a run of decimal digits; false on no digits or overflow.
bool readUint(std::string_view text, size_t& pos, uint64_t& out) {
  const size_t start = pos;
  uint64_t value = 0;
  while (pos < text.size() && isDigit(text[pos])) {
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, static_cast<uint64_t>(text[pos] - '0'), &value)) {
      return false;
    }
    ++pos;
  }
  out = value;
  return pos > start;
}

// Milliseconds per unit; 0 for an unknown unit.
int64_t durationUnit(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60 * 1000;
  if (unit == "h") return 60 * 60 * 1000;
  if (unit == "d") return 24 * 60 * 60 * 1000;
  return 0;
}

bool isHostNameChar(char c) {
  return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_';
}

bool validHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.front() == '.' || host.front() == '-') return false;
  if (!std::all_of(host.begin(), host.end(), isHostNameChar)) return false;
  // All digits and dots must then be a real IPv4 address, not "300.1.1.1".
  if (std::all_of(host.begin(), host.end(), [](char c) { return isDigit(c) || c == '.'; })) {
    in_addr a;
    return inet_pton(AF_INET, std::string(host).c_str(), &a) == 1;
  }
  return host.find("..") == std::string_view::npos;
}

}  // namespace

std::optional<Duration> parseDuration(std::string_view text) {
  if (text == "0") return Duration{0};
  if (text.empty()) return std::nullopt;
  size_t pos = 0;
  int64_t total = 0;
  int64_t previousUnit = std::numeric_limits<int64_t>::max();
  while (pos < text.size()) {
    uint64_t n = 0;
    if (!readUint(text, pos, n)) return std::nullopt;
    const size_t unitStart = pos;
    while (pos < text.size() && isAlpha(text[pos])) ++pos;
    const int64_t unit = durationUnit(text.substr(unitStart, pos - unitStart));
    // Units must be present and decreasing ("1h30m"), so "1m1m" or "5" is a typo.
    if (unit == 0 || unit >= previousUnit) return std::nullopt;
    previousUnit = unit;
    int64_t part = 0;
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(static_cast<int64_t>(n), unit, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return std::nullopt;
    }
  }
  return Duration{total};
}

std::optional<uint64_t> parseSize(std::string_view text) {
  size_t pos = 0;
  uint64_t n = 0;
  if (!readUint(text, pos, n)) return std::nullopt;
  const std::string_view unit = text.substr(pos);
  struct Unit {
    std::string_view name;
    uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", 1ull << 10},
      {"MiB", 1ull << 20},
      {"GiB", 1ull << 30},
      {"TiB", 1ull << 40},
      {"KB", 1000ull},
      {"MB", 1000ull * 1000},
      {"GB", 1000ull * 1000 * 1000},
      {"TB", 1000ull * 1000 * 1000 * 1000},
  };
  for (const Unit& u : kUnits) {
    if (u.name == unit) {
      uint64_t out = 0;
      if (__builtin_mul_overflow(n, u.factor, &out)) return std::nullopt;
      return out;
    }
  }
  return std::nullopt;
}

std::optional<Rate> parseRate(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view count = text.substr(0, slash);
  std::string_view window = text.substr(slash + 1);
  while (!count.empty() && count.back() == ' ') count.remove_suffix(1);
  while (!window.empty() && window.front() == ' ') window.remove_prefix(1);
  size_t pos = 0;
  uint64_t tokens = 0;
  if (!readUint(count, pos, tokens) || pos != count.size() || tokens == 0) return std::nullopt;
  // "10/m" reads as "10/1m".
  std::optional<Duration> w;
  if (!window.empty() && durationUnit(window) != 0) {
    w = Duration{durationUnit(window)};
  } else {
    w = parseDuration(window);
  }
  if (!w || w->count() <= 0) return std::nullopt;
  return Rate{tokens, *w};
}

std::optional<HostPort> parseHostPort(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr a;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a) != 1) return std::nullopt;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // An IPv6 address needs brackets, otherwise its last group reads as the port.
    if (!validHostName(host)) return std::nullopt;
  }
  size_t pos = 0;
  uint64_t p = 0;
  if (port.size() > 5 || !readUint(port, pos, p) || pos != port.size() || p > 65535) {
    return std::nullopt;
  }
  return HostPort{std::string(host), static_cast<uint16_t>(p)};
}

std::optional<Cidr> parseCidr(std::string_view text) {
  Cidr out;
  out.text = std::string(text);
  const size_t slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  if (inet_pton(AF_INET, addr.c_str(), out.bytes) == 1) {
    out.v6 = false;
  } else if (inet_pton(AF_INET6, addr.c_str(), out.bytes) == 1) {
    out.v6 = true;
  } else {
    return std::nullopt;
  }
  const unsigned maxPrefix = out.v6 ? 128 : 32;
  out.prefix = static_cast<uint8_t>(maxPrefix);
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    size_t pos = 0;
    uint64_t n = 0;
    if (bits.size() > 3 || !readUint(bits, pos, n) || pos != bits.size() || n > maxPrefix) {
      return std::nullopt;
    }
    out.prefix = static_cast<uint8_t>(n);
  }
  // "10.0.0.1/8" means 10.0.0.0/8, as nginx reads it; clear the host bits so
  // contains() and /config agree.
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bitStart = i * 8;
    if (bitStart >= out.prefix) {
      out.bytes[i] = 0;
    } else if (bitStart + 8 > out.prefix) {
      out.bytes[i] &= static_cast<uint8_t>(0xff << (8 - (out.prefix - bitStart)));
    }
  }
  return out;
}

std::string HostPort::str() const {
  const std::string p = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + p;
  return host + ":" + p;
}

bool Cidr::contains(bool addr_v6, const uint8_t* addr) const {
  // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; an IPv4 block
  // must still match them, and an IPv6 block written as ::ffff:0:0/96 must
  // match a plain IPv4 peer.
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  uint8_t mapped[16];
  const uint8_t* a = addr;
  if (!v6 && addr_v6) {
    if (std::memcmp(addr, kMappedPrefix, 12) != 0) return false;
    a = addr + 12;
  } else if (v6 && !addr_v6) {
    std::memcpy(mapped, kMappedPrefix, 12);
    std::memcpy(mapped + 12, addr, 4);
    a = mapped;
  }
  const unsigned fullBytes = prefix / 8;
  if (std::memcmp(a, bytes, fullBytes) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[fullBytes] & mask) == bytes[fullBytes];
}

namespace detail {

std::string formatDuration(Duration d) {
  const int64_t ms = d.count();
  if (ms == 0) return "0s";
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {24ll * 60 * 60 * 1000, "d"}, {60ll * 60 * 1000, "h"}, {60ll * 1000, "m"}, {1000, "s"}};
  for (const auto& [factor, name] : kUnits) {
    if (ms % factor == 0) return std::to_string(ms / factor) + name;
  }
  return std::to_string(ms) + "ms";
}

std::string formatSize(uint64_t bytes) {
  static constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {1ull << 40, "TiB"}, {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
  if (bytes == 0) return "0";
  for (const auto& [factor, name] : kUnits) {
    if (bytes % factor == 0) return std::to_string(bytes / factor) + name;
  }
  return std::to_string(bytes);
}

std::string formatRate(uint64_t tokens, Duration window) {
  return std::to_string(tokens) + "/" + formatDuration(window);
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

size_t editDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string lower = toLower(word);
  std::string best;
  size_t bestDistance = std::numeric_limits<size_t>::max();
  for (const std::string& c : candidates) {
    const size_t d = editDistance(lower, toLower(c));
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  // Two edits, or a third of the word for long names: closer than that is a
  // typo, farther is a different word and a suggestion would mislead.
  const size_t limit = std::max<size_t>(2, lower.size() / 3);
  if (best.empty() || bestDistance > limit || bestDistance >= lower.size()) return "";
  return best;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (isAlpha(c) || isDigit(c)) continue;
    if (std::strchr("!#$%&'*+-.^_`|~", c) == nullptr || c == '\0') return false;
  }
  return true;
}

bool isEnvName(std::string_view s) {
  if (s.empty() || isDigit(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isAlpha(c) || isDigit(c) || c == '_'; });
}

}  // namespace detail
}  // namespace edge::conf
