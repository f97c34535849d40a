#include "cache/http_fields.h"

#include <cstring>
#include <ctime>
#include <limits>

#include "gateway/http1/parser.h"

namespace edge::cache {
namespace {

using http1::iequals;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Delta-seconds (RFC 9111 1.2.2): digits only; too large saturates at 2^31.
int64_t parseDelta(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty()) return -1;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
    if (n > 2147483648LL) n = 2147483648LL;
  }
  return n;
}

// Calls fn(name, value) for each directive of a Cache-Control value.
template <typename Fn>
void forEachDirective(std::string_view cc, Fn fn) {
  while (!cc.empty()) {
    size_t end = 0;
    bool quoted = false;
    while (end < cc.size() && (quoted || cc[end] != ',')) {
      if (cc[end] == '"') quoted = !quoted;
      if (cc[end] == '\\' && quoted) ++end;
      ++end;
    }
    std::string_view item = trim(cc.substr(0, std::min(end, cc.size())));
    cc.remove_prefix(std::min(end + 1, cc.size()));
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view name = trim(item.substr(0, eq));
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : trim(item.substr(eq + 1));
    fn(name, value, eq != std::string_view::npos);
  }
}

}  // namespace

std::optional<std::string_view> findField(const FieldList& fields, std::string_view name) {
  for (const auto& [n, v] : fields)
    if (iequals(n, name)) return v;
  return std::nullopt;
}

bool joinFields(const FieldList& fields, std::string_view name, std::string& out) {
  bool any = false;
  for (const auto& [n, v] : fields) {
    if (!iequals(n, name)) continue;
    if (any) out.append(", ");
    out.append(v);
    any = true;
  }
  return any;
}

ResponseDirectives parseResponseDirectives(std::string_view cc) {
  ResponseDirectives d;
  forEachDirective(cc, [&](std::string_view n, std::string_view v, bool has_value) {
    if (iequals(n, "max-age")) {
      // A malformed max-age makes the response stale (RFC 9111 4.2.1 recommends that).
      int64_t x = parseDelta(v);
      d.max_age = x < 0 ? 0 : x;
    } else if (iequals(n, "s-maxage")) {
      int64_t x = parseDelta(v);
      d.s_maxage = x < 0 ? 0 : x;
    } else if (iequals(n, "no-store")) {
      d.no_store = true;
    } else if (iequals(n, "no-cache")) {
      // Qualified no-cache names fields a shared cache would have to strip; not worth the
      // risk: treat it as unqualified (RFC 9111 5.2.2.4 allows that).
      d.no_cache = true;
    } else if (iequals(n, "private")) {
      d.private_ = true;
    } else if (iequals(n, "public")) {
      d.public_ = true;
    } else if (iequals(n, "must-revalidate") || iequals(n, "proxy-revalidate")) {
      d.must_revalidate = true;
    } else if (iequals(n, "stale-while-revalidate")) {
      d.stale_while_revalidate = has_value ? parseDelta(v) : -1;
    } else if (iequals(n, "stale-if-error")) {
      d.stale_if_error = has_value ? parseDelta(v) : -1;
    }
  });
  return d;
}

RequestDirectives parseRequestDirectives(std::string_view cc, std::string_view pragma) {
  RequestDirectives d;
  bool any = false;
  forEachDirective(cc, [&](std::string_view n, std::string_view v, bool has_value) {
    any = true;
    if (iequals(n, "max-age")) {
      int64_t x = parseDelta(v);
      if (x >= 0) d.max_age = x;
    } else if (iequals(n, "max-stale")) {
      d.max_stale = has_value ? parseDelta(v) : std::numeric_limits<int64_t>::max();
    } else if (iequals(n, "min-fresh")) {
      int64_t x = parseDelta(v);
      if (x >= 0) d.min_fresh = x;
    } else if (iequals(n, "no-cache")) {
      d.no_cache = true;
    } else if (iequals(n, "no-store")) {
      d.no_store = true;
    } else if (iequals(n, "only-if-cached")) {
      d.only_if_cached = true;
    }
  });
  // Pragma: no-cache counts only when Cache-Control is absent (RFC 9111 5.4).
  if (!any && !pragma.empty()) {
    forEachDirective(pragma, [&](std::string_view n, std::string_view, bool) {
      if (iequals(n, "no-cache")) d.no_cache = true;
    });
  }
  return d;
}

std::optional<int64_t> parseHttpDate(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 64) return std::nullopt;
  char buf[65];
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  static const char* const kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
      "%a %b %e %H:%M:%S %Y",       // asctime
  };
  for (const char* f : kFormats) {
    tm t{};
    const char* end = strptime(buf, f, &t);
    if (end && *end == 0) return static_cast<int64_t>(timegm(&t));
  }
  return std::nullopt;
}

std::string_view formatHttpDate(int64_t t, char* buf) {
  time_t tt = static_cast<time_t>(t);
  tm g;
  gmtime_r(&tt, &g);
  size_t n = strftime(buf, 30, "%a, %d %b %Y %H:%M:%S GMT", &g);
  return {buf, n};
}

namespace {
std::string_view opaqueTag(std::string_view t) {
  t = trim(t);
  if (t.size() >= 2 && (t[0] == 'W' || t[0] == 'w') && t[1] == '/') t.remove_prefix(2);
  return t;
}
}  // namespace

bool etagListMatches(std::string_view list, std::string_view etag) {
  if (trim(list) == "*") return !etag.empty();
  if (etag.empty()) return false;
  std::string_view want = opaqueTag(etag);
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (!trim(item).empty() && opaqueTag(item) == want) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::vector<std::string_view> splitList(std::string_view list) {
  std::vector<std::string_view> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace edge::cache
