#include "gateway/site_rules.h"

#include "gateway/exchange.h"

namespace edge {
namespace {

constexpr std::string_view kAcmePrefix = "/.well-known/acme-challenge/";

// "https://example.com" / "https://[::1]:8443": the scheme, the host as the
// config writes it (IPv6 literals bracketed) and a port only when it is not
// the scheme's default. Plain-HTTP redirects name no port: the public HTTP
// port is 80 even when edgegate listens on another one behind a balancer.
std::string originOf(const conf::Site& site, std::string_view host, bool https) {
  std::string out = https ? "https://" : "http://";
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  const bool v6 = host.find(':') != std::string_view::npos && host.front() != '[';
  if (v6) out.push_back('[');
  out.append(host);
  if (v6) out.push_back(']');
  if (https && site.https_port != 443) out.append(":").append(std::to_string(site.https_port));
  return out;
}

}  // namespace

RequestFacts RequestFacts::of(const http1::RequestHead& req, bool tls) {
  RequestFacts f;
  f.method = req.methodView();
  f.host = req.hostView();
  f.path = req.pathView();
  f.has_query = req.has_query;
  f.query = req.queryView();
  f.tls = tls;
  return f;
}

bool isAcmeChallenge(std::string_view path) {
  return path.starts_with(kAcmePrefix);
}

uint16_t redirectStatus(int configured, std::string_view method) {
  if (method == "GET" || method == "HEAD") return static_cast<uint16_t>(configured);
  return 308;
}

Redirect canonicalRedirect(const Snapshot& snap, const HostMatch& match, const RequestFacts& req) {
  const conf::Site& site = *match.site;
  // "*" (OPTIONS) and CONNECT targets have no path to carry over.
  if (req.path.empty() || req.path.front() != '/' || isAcmeChallenge(req.path)) return {};
  const bool to_canonical = match.alias && !site.canonical_host.empty();
  const bool to_https = site.https_redirect && !req.tls;
  if (!to_canonical && !to_https) return {};
  const std::string origin = originOf(site, to_canonical ? site.canonical_host : *match.host,
                                      req.tls || site.https_redirect);
  Redirect r;
  r.reason = to_canonical ? (to_https ? "alias+https" : "alias") : "https";
  if (const conf::RedirectMatch m = snap.redirectMap(site).match(req.path)) {
    const conf::RedirectRule& rule = site.redirects[static_cast<size_t>(m.rule)];
    r.location = conf::absoluteTarget(
        origin,
        conf::redirectTarget(rule, req.path.substr(m.prefix_len), req.has_query, req.query));
    r.status = redirectStatus(rule.status, req.method);
    r.reason = to_canonical ? (to_https ? "alias+https+map" : "alias+map") : "https+map";
    return r;
  }
  r.location = origin;
  r.location.append(req.path);
  if (req.has_query) r.location.append("?").append(req.query);
  r.status = redirectStatus(site.redirect_status, req.method);
  return r;
}

Redirect mapRedirect(const Snapshot& snap, const conf::Site& site, const RequestFacts& req) {
  const conf::RedirectMatch m = snap.redirectMap(site).match(req.path);
  if (!m) return {};
  const conf::RedirectRule& rule = site.redirects[static_cast<size_t>(m.rule)];
  Redirect r;
  r.location = conf::redirectTarget(rule, req.path.substr(m.prefix_len), req.has_query, req.query);
  r.status = redirectStatus(rule.status, req.method);
  r.reason = "map";
  return r;
}

void applySiteHeaders(const conf::Site& site, bool tls, ResponseOut& head) {
  for (const std::string& name : site.response_headers_remove) head.remove(name);
  for (const auto& [name, value] : site.response_headers_set) head.set(name, value);
  if (tls && !site.hsts.empty()) head.set("Strict-Transport-Security", site.hsts);
}

}  // namespace edge
