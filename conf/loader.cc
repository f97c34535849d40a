// loadConfigFile / loadConfigString, and the server and listeners sections.
// The load never stops at the first problem: each reader reports into Ctx and
// the parse carries on with defaults, so `edgegate -t` lists every error.
#include "conf/loader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "conf/reader.h"
#include "conf/sections.h"
#include "conf/values.h"
#include "conf/yaml_tree.h"

namespace edge::conf {
namespace detail {
namespace {

// Larger than any sane config; stops a wrong path (a log, a core file) from
// being read whole into memory.
constexpr off_t kMaxFileBytes = 16 * 1024 * 1024;

unsigned cpuCount() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

void parseAdmin(Ctx& ctx, const Node& node, AdminConfig& out) {
  Fields f(ctx, node, "server.admin", {"bind", "token_env"});
  if (const Node* n = f.get("bind")) {
    if (auto hp = readHostPort(ctx, *n, "admin.bind", true)) out.bind = *hp;
  }
  if (const Node* n = f.get("token_env")) {
    if (auto name = readString(ctx, *n, "token_env")) {
      out.token_env = *name;
      if (auto value = ctx.resolveEnv(*n, "server.admin.token_env", *name)) out.token = *value;
    }
  }
}

void parseLimits(Ctx& ctx, const Node& node, Limits& out) {
  Fields f(ctx, node, "server.limits",
           {"max_connections", "max_connections_per_ip", "header_timeout", "idle_timeout",
            "max_header_bytes", "max_body_bytes"});
  f.uint("max_connections", out.max_connections, 1);
  f.uint("max_connections_per_ip", out.max_connections_per_ip, 1);
  f.duration("header_timeout", out.header_timeout, false);
  f.duration("idle_timeout", out.idle_timeout, false);
  if (const Node* n = f.get("max_header_bytes")) {
    if (auto v = readSize(ctx, *n, "max_header_bytes")) {
      // Below this not even a short request line with a Host header fits.
      if (*v < 256) {
        ctx.error(*n, "max_header_bytes must be at least 256 bytes, got " + n->scalar);
      } else {
        out.max_header_bytes = *v;
      }
    }
  }
  f.size("max_body_bytes", out.max_body_bytes);
}

void parseAccessLog(Ctx& ctx, const Node& node, AccessLogConfig& out) {
  Fields f(ctx, node, "server.access_log", {"path", "redact_query_params"});
  if (const Node* n = f.get("path")) {
    if (auto v = readString(ctx, *n, "access_log.path")) {
      if (v->empty()) {
        ctx.error(*n, "access_log.path is empty: write stdout, off or a file path");
      } else {
        out.path = *v;
      }
    }
  }
  f.strList("redact_query_params", out.redact_query_params);
}

void parseWorkers(Ctx& ctx, const Node& n, unsigned& out) {
  if (n.isScalar() && n.scalar == "auto") {
    out = cpuCount();
    return;
  }
  if (n.isScalar() && n.scalar == "0") {
    ctx.error(n,
              "workers: 0 is not allowed: write auto (one per CPU) or a number of threads, at "
              "least 1");
    return;
  }
  if (n.isScalar() && !n.scalar.empty() && (n.scalar[0] < '0' || n.scalar[0] > '9')) {
    ctx.error(n, "workers: expected auto or a whole number, got '" + n.scalar + "'");
    return;
  }
  if (auto v = readUint(ctx, n, "workers", 1, 1024)) out = static_cast<unsigned>(*v);
}

// Reads a *_env key and the variable it names into `value`.
void readSecretEnv(Ctx& ctx, const Fields& f, std::string_view key, const std::string& where,
                   std::string& name, std::string& value) {
  const Node* n = f.get(key);
  if (n == nullptr) return;
  auto v = readString(ctx, *n, key);
  if (!v) return;
  name = *v;
  if (auto resolved = ctx.resolveEnv(*n, where + "." + std::string(key), name)) value = *resolved;
}

void parseTls(Ctx& ctx, const Node& node, const std::string& where, TlsConfig& out) {
  Fields f(ctx, node, where, {"certificates", "min_version", "alpn"});
  if (!f.isMap() && !node.isNull()) return;
  if (f.require("certificates")) {
    const Node& list = *f.get("certificates");
    if (const std::vector<Node>* items = readList(ctx, list, "tls.certificates")) {
      if (items->empty()) {
        ctx.error(list, where + ".certificates is empty: list at least one {cert, key}");
      }
      for (const Node& item : *items) {
        Fields c(ctx, item, where + " certificate", {"cert", "key", "key_env"});
        TlsCertificate cert;
        if (c.require("cert")) c.str("cert", cert.cert);
        const bool hasKey = c.has("key");
        const bool hasKeyEnv = c.has("key_env");
        if (hasKey && hasKeyEnv) {
          ctx.error(*c.entry("key_env"), "a certificate takes key (a file) or key_env, not both");
        } else if (!hasKey && !hasKeyEnv && c.isMap()) {
          ctx.error(item, "certificate " + cert.cert +
                              " has no private key: add key: FILE or key_env: VARIABLE");
        }
        if (hasKey) {
          if (auto v = readString(ctx, *c.get("key"), "key")) {
            if (v->empty()) {
              ctx.error(*c.get("key"), "key is empty: write the path of the private key file");
            }
            cert.key = *v;
          }
        }
        readSecretEnv(ctx, c, "key_env", "certificate", cert.key_env, cert.key_pem);
        out.certificates.push_back(std::move(cert));
      }
    }
  }
  if (const Node* n = f.get("min_version")) {
    if (auto v = readChoice(ctx, *n, "min_version", {"TLSv1.2", "TLSv1.3"})) out.min_version = *v;
  }
  if (const Node* n = f.get("alpn")) {
    if (auto v = readStringList(ctx, *n, "alpn")) {
      bool ok = !v->empty();
      if (v->empty()) ctx.error(*n, "alpn is empty: list h2, http/1.1 or both");
      for (size_t i = 0; i < v->size(); ++i) {
        if ((*v)[i] != "h2" && (*v)[i] != "http/1.1") {
          ctx.error(n->items[i], "alpn: '" + (*v)[i] + "' is not supported: use h2 or http/1.1");
          ok = false;
        }
      }
      if (ok) out.alpn = *v;
    }
  }
}

}  // namespace

void parseServer(Ctx& ctx, const Node& node, ServerConfig& out) {
  Fields f(ctx, node, "server",
           {"workers", "drain_timeout", "admin", "limits", "trusted_proxies", "access_log",
            "request_metrics"});
  out.workers = cpuCount();
  if (const Node* n = f.get("workers")) parseWorkers(ctx, *n, out.workers);
  f.duration("drain_timeout", out.drain_timeout);
  if (const Node* n = f.get("admin")) parseAdmin(ctx, *n, out.admin);
  if (const Node* n = f.get("limits")) parseLimits(ctx, *n, out.limits);
  if (const Node* n = f.get("trusted_proxies")) {
    if (const std::vector<Node>* items = readList(ctx, *n, "trusted_proxies")) {
      for (const Node& item : *items) {
        auto text = readString(ctx, item, "trusted_proxies item");
        if (!text) continue;
        if (auto cidr = parseCidr(*text)) {
          out.trusted_proxies.push_back(*cidr);
        } else {
          ctx.error(item, "trusted_proxies: '" + *text +
                              "' is not an address block: write e.g. 10.0.0.0/8, 127.0.0.1 or "
                              "::1/128");
        }
      }
    }
  }
  if (const Node* n = f.get("access_log")) parseAccessLog(ctx, *n, out.access_log);
  f.boolean("request_metrics", out.request_metrics);
}

void parseListeners(Ctx& ctx, const Node& node, std::vector<Listener>& out) {
  const std::vector<Node>* items = readList(ctx, node, "listeners");
  if (items == nullptr) return;
  if (items->empty()) {
    ctx.error(node, "listeners is empty: add at least one {name, bind}");
    return;
  }
  std::map<std::string, int> names;  // name -> line of first use
  std::map<std::string, int> binds;
  for (const Node& item : *items) {
    Fields f(ctx, item, "listener",
             {"name", "bind", "tls", "http2", "http2_max_concurrent_streams"});
    Listener l;
    if (f.require("name")) {
      f.str("name", l.name);
      const Node& n = *f.get("name");
      if (n.isScalar() && l.name.empty()) ctx.error(n, "listener name is empty");
      if (!l.name.empty()) {
        auto [it, inserted] = names.emplace(l.name, n.line);
        if (!inserted) {
          ctx.error(n, "duplicate listener name '" + l.name + "' (first defined at line " +
                           std::to_string(it->second) + ")");
        }
      }
    }
    if (f.require("bind")) {
      const Node& n = *f.get("bind");
      if (auto hp = readHostPort(ctx, n, "bind", true)) {
        l.bind = *hp;
        // Port 0 asks the kernel for a free port, so two of them never clash.
        if (hp->port != 0) {
          auto [it, inserted] = binds.emplace(hp->str(), n.line);
          if (!inserted) {
            ctx.error(n, "bind " + hp->str() + " is already used by the listener at line " +
                             std::to_string(it->second));
          }
        }
      }
    }
    if (const Node* n = f.get("tls")) {
      l.tls.emplace();
      parseTls(ctx, *n, "listener " + (l.name.empty() ? std::string("tls") : l.name + " tls"),
               *l.tls);
    }
    f.boolean("http2", l.http2);
    f.uint("http2_max_concurrent_streams", l.http2_max_concurrent_streams, 1, 10000);
    out.push_back(std::move(l));
  }
}

}  // namespace detail

namespace {

LoadResult load(const std::string& yaml, const std::string& name, const EnvLookup& env) {
  detail::Ctx ctx(name, env);
  detail::Node root;
  LoadResult result;
  if (!detail::parseYamlTree(yaml, name, env, root, ctx.errors())) {
    result.errors = ctx.takeErrors();
    return result;
  }
  auto config = std::make_shared<Config>();
  config->source_path = name;
  if (root.isNull()) {
    ctx.error(1, 1, "the configuration is empty: it needs at least listeners, sites and upstreams");
  } else {
    detail::Fields f(ctx, root, "the top level",
                     {"server", "listeners", "sites", "upstreams", "cache", "rate_limits"});
    if (f.isMap()) {
      // Parsed before the sites, whose routes refer to their names.
      if (const detail::Node* n = f.get("server")) {
        detail::parseServer(ctx, *n, config->server);
      } else {
        detail::parseServer(ctx, detail::Node{}, config->server);
      }
      if (f.require("upstreams"))
        detail::parseUpstreams(ctx, *f.get("upstreams"), config->upstreams);
      if (const detail::Node* n = f.get("cache")) detail::parseCache(ctx, *n, config->cache);
      if (const detail::Node* n = f.get("rate_limits")) {
        detail::parseRateLimits(ctx, *n, config->rate_limits);
      }
      if (f.require("listeners"))
        detail::parseListeners(ctx, *f.get("listeners"), config->listeners);
      if (f.require("sites")) detail::parseSites(ctx, *f.get("sites"), *config);
    }
  }
  result.errors = ctx.takeErrors();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

}  // namespace

LoadResult loadConfigString(const std::string& yaml, const std::string& name,
                            const EnvLookup& env) {
  try {
    return load(yaml, name, env);
  } catch (const std::exception& e) {
    // A bug in a reader must not take down the process on SIGHUP.
    LoadResult r;
    r.errors.push_back(ConfigError{name, 0, 0, std::string("internal error: ") + e.what()});
    return r;
  } catch (...) {
    LoadResult r;
    r.errors.push_back(ConfigError{name, 0, 0, "internal error while loading"});
    return r;
  }
}

LoadResult loadConfigFile(const std::string& path, const EnvLookup& env) {
  LoadResult r;
  try {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      r.errors.push_back(ConfigError{
          path, 0, 0, std::string("cannot read the configuration: ") + std::strerror(errno)});
      return r;
    }
    if (!S_ISREG(st.st_mode)) {
      r.errors.push_back(
          ConfigError{path, 0, 0, "cannot read the configuration: not a regular file"});
      return r;
    }
    if (st.st_size > detail::kMaxFileBytes) {
      r.errors.push_back(
          ConfigError{path, 0, 0, "cannot read the configuration: larger than 16 MiB"});
      return r;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      r.errors.push_back(ConfigError{
          path, 0, 0, std::string("cannot read the configuration: ") + std::strerror(errno)});
      return r;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
      r.errors.push_back(ConfigError{path, 0, 0, "cannot read the configuration: read error"});
      return r;
    }
    return loadConfigString(text.str(), path, env);
  } catch (const std::exception& e) {
    r.errors.push_back(
        ConfigError{path, 0, 0, std::string("cannot read the configuration: ") + e.what()});
    return r;
  }
}

}  // namespace edge::conf
