#pragma once
// Small, pure helpers over HTTP field values that the cache reads: the
// Cache-Control directives of requests and responses (RFC 9111 5.2), HTTP
// dates (RFC 9110 5.6.7) and entity-tag lists (RFC 9110 8.8.3). No I/O, no
// clock: callers pass the time, so unit tests can walk every case.
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::cache {

// A response or request head as (name, value) pairs, as ResponseOut holds it.
using FieldList = std::vector<std::pair<std::string_view, std::string_view>>;

// First field named `name` (ASCII case-insensitive), or nullopt.
std::optional<std::string_view> findField(const FieldList& fields, std::string_view name);
// Every value of `name` joined as one list (repeated fields are one list, RFC 9110 5.3).
// Appends to out; returns whether any was present.
bool joinFields(const FieldList& fields, std::string_view name, std::string& out);

// Directives of a response's Cache-Control. Seconds are -1 when absent.
struct ResponseDirectives {
  int64_t max_age = -1;
  int64_t s_maxage = -1;
  int64_t stale_while_revalidate = -1;
  int64_t stale_if_error = -1;
  bool no_store = false;
  bool no_cache = false;  // unqualified: store, but revalidate before every use
  bool private_ = false;  // any form: qualified private is refused too, it is rarer than safe
  bool public_ = false;
  bool must_revalidate = false;  // also proxy-revalidate: no stale serving
};
ResponseDirectives parseResponseDirectives(std::string_view cache_control);

// Directives of a request's Cache-Control (and Pragma: no-cache when there is none).
struct RequestDirectives {
  int64_t max_age = -1;
  int64_t max_stale = -1;  // -1 absent; INT64_MAX for "max-stale" without a value
  int64_t min_fresh = -1;
  bool no_cache = false;
  bool no_store = false;
  bool only_if_cached = false;
};
RequestDirectives parseRequestDirectives(std::string_view cache_control, std::string_view pragma);

// IMF-fixdate, RFC 850 and asctime forms; Unix seconds, or nullopt when invalid.
std::optional<int64_t> parseHttpDate(std::string_view s);
// IMF-fixdate of t into buf (at least 30 bytes); returns the view.
std::string_view formatHttpDate(int64_t t, char* buf);

// Whether If-None-Match's list matches etag by weak comparison ("*" matches any).
bool etagListMatches(std::string_view if_none_match, std::string_view etag);

// The trimmed items of a comma-separated list field, without empty ones.
std::vector<std::string_view> splitList(std::string_view list);

}  // namespace edge::cache
