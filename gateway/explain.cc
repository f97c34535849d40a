#include "gateway/explain.h"

#include <nlohmann/json.hpp>

#include "conf/loader.h"
#include "gateway/exchange.h"
#include "gateway/http1/parser.h"
#include "gateway/site_rules.h"

namespace edge {
namespace {

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && http1::iequals(s.substr(0, prefix.size()), prefix);
}

// The /config JSON of one object as "prefix.key: value" lines: the same
// names and value spellings an operator sees in GET /config and writes in
// YAML, secrets already redacted.
void flatten(const nlohmann::json& j, const std::string& prefix, ExplainLines& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix + "." + k, out);
    return;
  }
  std::string text;
  if (j.is_null() || (j.is_array() && j.empty())) {
    text = "none";
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (!text.empty()) text += ", ";
      text += v.is_string() ? v.get<std::string>() : v.dump();
    }
  } else {
    text = j.is_string() ? j.get<std::string>() : j.dump();
  }
  out.emplace_back(prefix, text);
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

void addRedirect(const Redirect& r, ExplainLines& out) {
  out.emplace_back("decision", "redirect");
  out.emplace_back("status", std::to_string(r.status));
  out.emplace_back("location", r.location);
  out.emplace_back("redirect_reason", r.reason);
}

void addRoute(const Snapshot& snap, const conf::Route& route, ExplainLines& out) {
  const conf::Config& cfg = snap.config();
  const nlohmann::json json = cfg.toJson();
  out.emplace_back("decision", "proxy");
  out.emplace_back("route", route.name);
  out.emplace_back("upstream", route.upstream);
  if (json["upstreams"].contains(route.upstream)) {
    flatten(json["upstreams"][route.upstream], "upstream", out);
  }
  // The cache step reads route.cache; its settings are the policy's config.
  out.emplace_back("cache", route.cache.empty() ? "none" : route.cache);
  if (!route.cache.empty() && json["cache"]["policies"].contains(route.cache)) {
    flatten(json["cache"]["policies"][route.cache], "cache", out);
  }
  out.emplace_back("rate_limit", joined(route.rate_limit));
  for (const std::string& name : route.rate_limit) {
    if (json["rate_limits"]["policies"].contains(name)) {
      flatten(json["rate_limits"]["policies"][name], "rate_limit." + name, out);
    }
  }
}

// The header policy run on an empty response head: what it adds, and what it
// would take out of the origin's response.
void addResponseHeaders(const conf::Site& site, bool tls, ExplainLines& out) {
  ResponseOut head;
  applySiteHeaders(site, tls, head);
  for (const auto& [name, value] : head.headers) {
    out.emplace_back("response_header." + std::string(name), std::string(value));
  }
  out.emplace_back("response_headers_removed", joined(site.response_headers_remove));
}

}  // namespace

bool explainRequest(const Snapshot& snap, const ExplainRequest& req, ExplainLines& out,
                    std::string& error) {
  std::string url = req.url.substr(0, req.url.find('#'));  // a fragment is never sent
  const bool tls = startsWithNoCase(url, "https://");
  if (!tls && !startsWithNoCase(url, "http://")) {
    error = "the URL must start with http:// or https://";
    return false;
  }
  const size_t authority = url.find("//") + 2;
  const size_t path_start = url.find_first_of("/?", authority);
  std::string host_field;
  for (const std::string& h : req.headers) {
    if (startsWithNoCase(h, "host:")) host_field = h;
  }
  // As curl does: -H 'Host: x' names the host, the URL only where to connect.
  // Without it the URL goes as an absolute-form target, whose authority is
  // the host (RFC 9112 3.2.2), exactly as a proxy client would send it.
  std::string raw = req.method + " ";
  if (host_field.empty()) {
    raw += url + " HTTP/1.1\r\nHost: " + url.substr(authority, path_start - authority) + "\r\n";
  } else {
    std::string target = path_start == std::string::npos ? "/" : url.substr(path_start);
    if (target.front() == '?') target.insert(0, "/");
    raw += target + " HTTP/1.1\r\n";
  }
  for (const std::string& h : req.headers) raw += h + "\r\n";
  raw += "\r\n";
  http1::RequestParser parser;
  size_t consumed = 0;
  if (parser.feed(raw.data(), raw.size(), &consumed) != http1::Progress::kComplete) {
    error = std::string("the gateway would refuse this request: ") +
            (parser.error().reason[0] ? parser.error().reason : "incomplete request") + " (" +
            std::to_string(parser.error().http_status) + ")";
    return false;
  }
  const http1::RequestHead& head = parser.head();
  const RequestFacts facts = RequestFacts::of(head, tls);

  out.emplace_back("request", std::string(facts.method) + " " + url);
  out.emplace_back("scheme", tls ? "https" : "http");
  out.emplace_back("host", std::string(facts.host));
  const HostMatch match = snap.matchHost(facts.host);
  if (!match.site) {
    out.emplace_back("site", "none");
    out.emplace_back("decision", "misdirected");
    out.emplace_back("status", "421");
    return true;
  }
  const conf::Site& site = *match.site;
  out.emplace_back("site", site.name);
  const conf::Route* route = Snapshot::findRoute(site, facts.method, facts.path);
  // The order of the chain: HostPolicy, then RedirectPolicy, then the route.
  if (const Redirect r = canonicalRedirect(snap, match, facts)) {
    addRedirect(r, out);
  } else if (const Redirect m = mapRedirect(snap, site, facts)) {
    addRedirect(m, out);
  } else if (!route) {
    out.emplace_back("decision", "no_route");
    out.emplace_back("status", "404");
  } else {
    addRoute(snap, *route, out);
  }
  addResponseHeaders(site, tls, out);
  return true;
}

int runExplain(const std::vector<std::string>& args, const std::string& default_config, FILE* out,
               FILE* err) {
  std::string config = default_config;
  ExplainRequest req;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "-c" && has_value) {
      config = args[++i];
    } else if (a == "-X" && has_value) {
      req.method = args[++i];
    } else if (a == "-H" && has_value) {
      req.headers.push_back(args[++i]);
    } else if (a == "--json") {
      json = true;
    } else if (!a.empty() && a[0] != '-' && req.url.empty()) {
      req.url = a;
    } else {
      fprintf(err, "edgegate explain: unexpected argument '%s'\n", a.c_str());
      fprintf(err,
              "usage: edgegate explain -c FILE [-X METHOD] [-H 'Name: value']... [--json] URL\n");
      return 2;
    }
  }
  if (req.url.empty()) {
    fprintf(err,
            "usage: edgegate explain -c FILE [-X METHOD] [-H 'Name: value']... [--json] URL\n");
    return 2;
  }
  const conf::LoadResult loaded = conf::loadConfigFile(config);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) fprintf(err, "%s\n", e.str().c_str());
    fprintf(err, "edgegate explain: %s has errors: nothing to explain\n", config.c_str());
    return 1;
  }
  const SnapshotPtr snap = Snapshot::build(loaded.config, 0);
  ExplainLines lines;
  std::string error;
  if (!explainRequest(*snap, req, lines, error)) {
    fprintf(err, "edgegate explain: %s\n", error.c_str());
    return 1;
  }
  if (json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [k, v] : lines) j[k] = v;
    fprintf(out, "%s\n", j.dump(2).c_str());
  } else {
    for (const auto& [k, v] : lines) fprintf(out, "%s: %s\n", k.c_str(), v.c_str());
  }
  return 0;
}

}  // namespace edge
