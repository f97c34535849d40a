#pragma once
// RFC 9111 storability, freshness and age for a shared cache, as pure
// functions of the request, the response and an injected clock (Unix
// seconds). The cache policy and the unit tests call the same code.
#include <cstdint>
#include <string_view>

#include "cache/http_fields.h"

namespace edge::cache {

// What the policy says when the origin says nothing (conf::CachePolicy in seconds).
struct PolicyTimes {
  int64_t default_ttl = 0;  // 0: only what the origin marks cacheable
  int64_t max_ttl = 86400;
  int64_t stale_while_revalidate = 0;
  int64_t stale_if_error = 0;
};

// The request facts storability depends on.
struct RequestFacts {
  std::string_view method;     // "GET", ...
  std::string_view path;       // for the web-cache-deception check
  bool authenticated = false;  // Authorization or a session cookie
  bool no_store = false;       // request Cache-Control: no-store
};

// Why a response is or is not stored: a static token that goes into Cache-Status's detail
// and the access log.
struct Storability {
  bool store = false;
  const char* reason = "";  // when !store: "method", "status", "no-store", "private",
                            // "set-cookie", "vary", "authenticated", "ttl", "content-type"
};

// The timing of a stored response, fixed when it arrives.
struct Freshness {
  int64_t lifetime = 0;                // seconds, after max_ttl
  int64_t corrected_initial_age = 0;   // RFC 9111 4.2.3
  int64_t response_time = 0;           // when the head arrived
  int64_t stale_while_revalidate = 0;  // seconds a stale entry may still be served while refreshing
  int64_t stale_if_error = 0;          // seconds a stale entry may be served when the origin fails
  bool must_revalidate = false;        // no-cache or must-revalidate: never serve stale
  bool no_cache = false;               // revalidate before every use
};

// Status codes a cache may store with heuristic (policy) freshness: RFC 9110 15.1.
bool heuristicallyCacheable(uint16_t status);

Storability decideStorable(const RequestFacts& req, uint16_t status, const FieldList& response,
                           const PolicyTimes& policy);

// request_time: when the request went to the origin; response_time: when its head arrived.
Freshness computeFreshness(const FieldList& response, const PolicyTimes& policy,
                           int64_t request_time, int64_t response_time);

// Age of a stored response at now.
inline int64_t currentAge(const Freshness& f, int64_t now) {
  int64_t resident = now > f.response_time ? now - f.response_time : 0;
  return f.corrected_initial_age + resident;
}

// What a lookup may do with an entry, given the request's directives.
enum class Usable : uint8_t {
  kFresh,            // serve it
  kStaleRevalidate,  // stale but within stale-while-revalidate: serve, refresh in the background
  kMustValidate,     // ask the origin (conditionally if there is a validator)
};
Usable usability(const Freshness& f, const RequestDirectives& rd, int64_t now);

// Whether the stale entry may answer in place of an origin error (stale-if-error).
bool usableOnError(const Freshness& f, int64_t now);

// A response whose Content-Type contradicts the path's extension (text/html for
// /account.css) is the web-cache-deception pattern: never stored.
bool contentTypeContradictsPath(std::string_view path, std::string_view content_type);

}  // namespace edge::cache
