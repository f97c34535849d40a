#pragma once
// Character classes for the HTTP/1 parsers: one table lookup per byte instead
// of chains of comparisons. Internal to gateway/http1/.
#include <array>
#include <cstdint>
#include <string_view>

namespace edge::http1::chars {

enum : uint8_t {
  kToken = 1,   // tchar (RFC 9110 5.6.2)
  kValue = 2,   // field-value byte: HTAB, SP, VCHAR, obs-text
  kTarget = 4,  // request-target byte: anything but CTL, SP, DEL
  kHost = 8,    // reg-name / IPv4 byte: unreserved, sub-delims, '%'
  kHex = 16,
  kDigit = 32,
};

inline constexpr std::array<uint8_t, 256> kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit ||
        std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos)
      v |= kToken;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) v |= kValue;
    if (c > 0x20 && c != 0x7f) v |= kTarget;
    if (alpha || digit ||
        std::string_view("-._~!$&'()*+,;=%").find(char(c)) != std::string_view::npos)
      v |= kHost;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHex;
    if (digit) v |= kDigit;
    t[c] = v;
  }
  return t;
}();

inline bool is(unsigned char c, uint8_t cls) {
  return (kClass[c] & cls) != 0;
}
inline bool isOws(char c) {
  return c == ' ' || c == '\t';
}
inline char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
}
inline int hexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace edge::http1::chars
