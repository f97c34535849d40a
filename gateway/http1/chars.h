#pragma once
// Character classes for the HTTP/1 parsers: one table lookup per byte instead
// of chains of comparisons. Internal to gateway/http1/.
#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// First byte in [p, end) that is a CTL (< 0x20, so also CR, LF, HTAB, NUL) or
// DEL, or end. Every other byte is valid in any part of a head, so the head
// scanner only stops at these: 16 bytes per step with SSE2, 8 with SWAR.
inline const char* findControl(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i k1f = _mm_set1_epi8(0x1f);
  const __m128i k7f = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, k1f), x);  // unsigned x <= 0x1f
    const int m = _mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(x, k7f)));
    if (m != 0) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
#endif
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  while (end - p >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    const uint64_t del = x ^ (kOnes * 0x7f);
    // Exact as a boolean (bit-twiddling "hasless(x, 0x20)" and "haszero").
    if ((((x - kOnes * 0x20) & ~x) | ((del - kOnes) & ~del)) & kHigh) break;
    p += 8;
  }
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == 0x7f) return p;
  }
  return end;
}

}  // namespace edge::http1::chars
