#include "cache/freshness.h"

#include <algorithm>

#include "gateway/http1/parser.h"

namespace edge::cache {
namespace {

using http1::iequals;

bool startsWithI(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

ResponseDirectives directivesOf(const FieldList& response) {
  std::string cc;
  joinFields(response, "cache-control", cc);
  return parseResponseDirectives(cc);
}

// Explicit freshness: s-maxage, max-age, or a valid Expires.
bool hasExplicitFreshness(const ResponseDirectives& d, const FieldList& response) {
  return d.s_maxage >= 0 || d.max_age >= 0 || findField(response, "expires").has_value();
}

}  // namespace

bool heuristicallyCacheable(uint16_t status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

// Statuses that may be stored when the origin gives explicit freshness. 206 is left out: the
// cache stores full objects only and answers ranges from them.
static bool understoodStatus(uint16_t s) {
  return heuristicallyCacheable(s) || s == 302 || s == 303 || s == 307 || s == 400 || s == 403;
}

Storability decideStorable(const RequestFacts& req, uint16_t status, const FieldList& response,
                           const PolicyTimes& policy) {
  if (req.method != "GET") return {false, "method"};
  if (!understoodStatus(status)) return {false, "status"};
  if (req.no_store) return {false, "no-store"};
  ResponseDirectives d = directivesOf(response);
  if (d.no_store) return {false, "no-store"};
  if (d.private_) return {false, "private"};
  if (findField(response, "set-cookie")) return {false, "set-cookie"};
  if (auto vary = findField(response, "vary")) {
    for (auto item : splitList(*vary))
      if (item == "*") return {false, "vary"};
  }
  // RFC 9111 3.5: an authenticated request's response is stored only when the origin says
  // so explicitly (SPEC.md: public or s-maxage).
  if (req.authenticated && !d.public_ && d.s_maxage < 0) return {false, "authenticated"};
  bool explicit_fresh = hasExplicitFreshness(d, response);
  if (!explicit_fresh && !heuristicallyCacheable(status) && !d.public_) return {false, "status"};
  if (!explicit_fresh && policy.default_ttl <= 0) {
    // Nothing marks it cacheable, and the policy adds nothing.
    return {false, "ttl"};
  }
  if (auto type = findField(response, "content-type")) {
    if (contentTypeContradictsPath(req.path, *type)) return {false, "content-type"};
  }
  Freshness f = computeFreshness(response, policy, 0, 0);
  bool validator = findField(response, "etag") || findField(response, "last-modified");
  // Already stale on arrival: worth keeping only to revalidate it cheaply later.
  if (f.lifetime <= f.corrected_initial_age && !validator) return {false, "ttl"};
  return {true, "stored"};
}

Freshness computeFreshness(const FieldList& response, const PolicyTimes& policy,
                           int64_t request_time, int64_t response_time) {
  Freshness f;
  ResponseDirectives d = directivesOf(response);
  std::optional<int64_t> date;
  if (auto v = findField(response, "date")) date = parseHttpDate(*v);
  int64_t lifetime;
  if (d.s_maxage >= 0) {
    lifetime = d.s_maxage;
  } else if (d.max_age >= 0) {
    lifetime = d.max_age;
  } else if (auto exp = findField(response, "expires")) {
    // An invalid Expires (such as "0") means already expired (RFC 9111 5.3).
    std::optional<int64_t> e = parseHttpDate(*exp);
    int64_t base = date ? *date : response_time;
    lifetime = e ? std::max<int64_t>(0, *e - base) : 0;
  } else {
    lifetime = policy.default_ttl;
  }
  f.lifetime = std::min(lifetime, policy.max_ttl);

  // RFC 9111 4.2.3.
  int64_t age_value = 0;
  if (auto a = findField(response, "age")) {
    int64_t n = 0;
    bool ok = !a->empty();
    for (char c : *a) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      n = std::min<int64_t>(n * 10 + (c - '0'), 2147483648LL);
    }
    if (ok) age_value = n;
  }
  int64_t apparent_age = date ? std::max<int64_t>(0, response_time - *date) : 0;
  int64_t response_delay = std::max<int64_t>(0, response_time - request_time);
  int64_t corrected_age_value = age_value + response_delay;
  f.corrected_initial_age = std::max(apparent_age, corrected_age_value);
  f.response_time = response_time;

  f.no_cache = d.no_cache;
  f.must_revalidate = d.must_revalidate || d.no_cache;
  f.stale_while_revalidate =
      d.stale_while_revalidate >= 0 ? d.stale_while_revalidate : policy.stale_while_revalidate;
  f.stale_if_error = d.stale_if_error >= 0 ? d.stale_if_error : policy.stale_if_error;
  return f;
}

Usable usability(const Freshness& f, const RequestDirectives& rd, int64_t now) {
  if (f.no_cache || rd.no_cache) return Usable::kMustValidate;
  int64_t age = currentAge(f, now);
  if (rd.max_age >= 0 && age > rd.max_age) return Usable::kMustValidate;
  int64_t left = f.lifetime - age;  // > 0: fresh
  if (rd.min_fresh >= 0 && left < rd.min_fresh) return Usable::kMustValidate;
  if (left > 0) return Usable::kFresh;
  if (f.must_revalidate) return Usable::kMustValidate;
  // The client accepts this much staleness.
  if (rd.max_stale >= 0 && -left <= rd.max_stale) return Usable::kFresh;
  if (-left < f.stale_while_revalidate) return Usable::kStaleRevalidate;
  return Usable::kMustValidate;
}

bool usableOnError(const Freshness& f, int64_t now) {
  if (f.must_revalidate) return false;
  int64_t stale_for = currentAge(f, now) - f.lifetime;
  return stale_for < f.stale_if_error;
}

bool contentTypeContradictsPath(std::string_view path, std::string_view content_type) {
  size_t slash = path.rfind('/');
  std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = last.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string_view ext = last.substr(dot + 1);
  struct Rule {
    const char* ext;
    const char* types[3];  // acceptable Content-Type prefixes
  };
  static const Rule kRules[] = {
      {"css", {"text/css"}},
      {"js", {"application/javascript", "text/javascript", "application/x-javascript"}},
      {"mjs", {"application/javascript", "text/javascript"}},
      {"json", {"application/json"}},
      {"png", {"image/png"}},
      {"jpg", {"image/jpeg"}},
      {"jpeg", {"image/jpeg"}},
      {"gif", {"image/gif"}},
      {"webp", {"image/webp"}},
      {"avif", {"image/avif"}},
      {"svg", {"image/svg+xml"}},
      {"ico", {"image/x-icon", "image/vnd.microsoft.icon", "image/"}},
      {"woff", {"font/woff", "application/font-woff"}},
      {"woff2", {"font/woff2", "application/font-woff2"}},
      {"ttf", {"font/ttf", "font/sfnt", "application/x-font-ttf"}},
      {"txt", {"text/plain"}},
      {"pdf", {"application/pdf"}},
      {"mp4", {"video/mp4"}},
      {"wasm", {"application/wasm"}},
  };
  for (const Rule& r : kRules) {
    if (!iequals(ext, r.ext)) continue;
    std::string_view type = content_type.substr(0, content_type.find(';'));
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    for (const char* t : r.types)
      if (t && startsWithI(type, t)) return false;
    return true;
  }
  return false;
}

}  // namespace edge::cache
