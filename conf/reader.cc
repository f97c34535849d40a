// Typed readers over detail::Node; see reader.h.
#include "conf/reader.h"

#include <algorithm>
#include <map>

#include "conf/values.h"

namespace edge::conf::detail {
namespace {

std::string quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// A scalar for messages: quoted and cut short, since a value may be long.
std::string shown(const Node& n) {
  if (!n.isScalar()) return n.describe();
  if (n.scalar.size() > 60) return quote(n.scalar.substr(0, 57) + "...");
  return quote(n.scalar);
}

// Reports null / list / map where one value is expected.
bool expectScalar(Ctx& ctx, const Node& n, std::string_view what, std::string_view expected) {
  if (n.isScalar()) return true;
  if (n.isNull()) {
    ctx.error(n, std::string(what) + " has no value: expected " + std::string(expected));
  } else {
    ctx.error(n,
              std::string(what) + ": expected " + std::string(expected) + ", got " + n.describe());
  }
  return false;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Keys under which people paste credentials. Matched only against keys that
// are not valid at that level, so `key:` of a rate-limit policy is not one.
bool looksLikeSecretKey(std::string_view key) {
  const std::string k = toLower(key);
  if (endsWith(k, "_env")) return false;
  static const char* const kNames[] = {
      "token",       "password", "passwd", "pass",   "secret",      "key_pem",      "pem",
      "private_key", "api_key",  "apikey", "bearer", "credentials", "client_secret"};
  for (const char* name : kNames) {
    if (k == name) return true;
  }
  return k.find("password") != std::string::npos || k.find("secret") != std::string::npos ||
         endsWith(k, "token");
}

}  // namespace

void Ctx::error(int line, int column, std::string message) {
  errors_.push_back(ConfigError{file_, line, column, std::move(message)});
}

std::vector<ConfigError> Ctx::takeErrors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  auto same = [](const ConfigError& a, const ConfigError& b) {
    return a.line == b.line && a.column == b.column && a.message == b.message;
  };
  errors_.erase(std::unique(errors_.begin(), errors_.end(), same), errors_.end());
  return std::move(errors_);
}

std::optional<std::string> Ctx::resolveEnv(const Node& at, std::string_view key,
                                           const std::string& name) {
  if (!isEnvName(name)) {
    error(at, std::string(key) + " names an environment variable (letters, digits, '_'), got " +
                  quote(name.size() > 40 ? name.substr(0, 37) + "..." : name) +
                  ": put the secret in a variable and write its name here");
    return std::nullopt;
  }
  std::optional<std::string> value = env_ ? env_(name) : std::nullopt;
  if (!value) {
    error(at, "environment variable " + name + " (named by " + std::string(key) +
                  ") is not set: export it before starting edgegate");
    return std::nullopt;
  }
  if (value->empty()) {
    error(at, "environment variable " + name + " (named by " + std::string(key) +
                  ") is empty: a secret must not be empty");
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> readString(Ctx& ctx, const Node& n, std::string_view what) {
  if (!expectScalar(ctx, n, what, "a string")) return std::nullopt;
  // Whether a private key or a certificate, PEM text belongs in a file.
  if (n.scalar.find("-----BEGIN") != std::string::npos) {
    ctx.error(n, std::string(what) +
                     ": PEM data must not be written in the config: private keys come from files "
                     "or key_env, certificates from files");
    return std::nullopt;
  }
  return n.scalar;
}

std::optional<uint64_t> readUint(Ctx& ctx, const Node& n, std::string_view what, uint64_t min,
                                 uint64_t max) {
  if (!expectScalar(ctx, n, what, "a whole number")) return std::nullopt;
  const std::string& s = n.scalar;
  const bool digits = !s.empty() && s.size() <= 20 &&
                      std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  uint64_t value = 0;
  bool overflow = false;
  if (digits) {
    for (char c : s) {
      overflow = overflow || __builtin_mul_overflow(value, 10, &value) ||
                 __builtin_add_overflow(value, static_cast<uint64_t>(c - '0'), &value);
    }
  }
  if (!digits || overflow) {
    const bool negative = !s.empty() && s[0] == '-';
    ctx.error(n, std::string(what) + ": expected a whole number" +
                     (negative ? " (not negative)" : "") + ", got " + shown(n));
    return std::nullopt;
  }
  if (value < min || value > max) {
    std::string range = "at least " + std::to_string(min);
    if (max != UINT64_MAX) range = "between " + std::to_string(min) + " and " + std::to_string(max);
    ctx.error(n, std::string(what) + " must be " + range + ", got " + s);
    return std::nullopt;
  }
  return value;
}

std::optional<bool> readBool(Ctx& ctx, const Node& n, std::string_view what) {
  if (!expectScalar(ctx, n, what, "true or false")) return std::nullopt;
  const std::string s = toLower(n.scalar);
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  ctx.error(n, std::string(what) + ": expected true or false, got " + shown(n));
  return std::nullopt;
}

std::optional<Duration> readDuration(Ctx& ctx, const Node& n, std::string_view what,
                                     bool allowZero) {
  if (!expectScalar(ctx, n, what, "a duration such as 250ms, 10s, 5m, 1h or 1d")) {
    return std::nullopt;
  }
  std::optional<Duration> d = parseDuration(n.scalar);
  if (!d) {
    const std::string& s = n.scalar;
    const bool bare =
        !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (bare) {
      ctx.error(
          n, std::string(what) + ": " + shown(n) + " has no unit: write " + s + "s or " + s + "ms");
    } else {
      ctx.error(n, std::string(what) + ": " + shown(n) +
                       " is not a duration: write a whole number and a unit (ms, s, m, h, d), "
                       "e.g. 250ms, 10s, 1h30m");
    }
    return std::nullopt;
  }
  if (!allowZero && d->count() == 0) {
    ctx.error(n, std::string(what) + " must be greater than zero");
    return std::nullopt;
  }
  return d;
}

std::optional<uint64_t> readSize(Ctx& ctx, const Node& n, std::string_view what) {
  if (!expectScalar(ctx, n, what, "a size such as 512, 32KiB or 256MiB")) return std::nullopt;
  std::optional<uint64_t> v = parseSize(n.scalar);
  if (!v) {
    ctx.error(n, std::string(what) + ": " + shown(n) +
                     " is not a size: write a whole number of bytes with an optional unit (B, "
                     "KiB, MiB, GiB, TiB, KB, MB, GB, TB), e.g. 32KiB");
  }
  return v;
}

std::optional<HostPort> readHostPort(Ctx& ctx, const Node& n, std::string_view what,
                                     bool allowPortZero) {
  if (!expectScalar(ctx, n, what, "HOST:PORT")) return std::nullopt;
  std::optional<HostPort> hp = parseHostPort(n.scalar);
  if (!hp) {
    std::string hint = "write HOST:PORT, e.g. 127.0.0.1:8080, localhost:3000 or [::1]:8080";
    if (n.scalar.find(':') == std::string::npos) hint = "the port is missing: " + hint;
    ctx.error(n, std::string(what) + ": " + shown(n) + " is not a valid address: " + hint);
    return std::nullopt;
  }
  if (hp->port == 0 && !allowPortZero) {
    ctx.error(n, std::string(what) + ": port 0 is not a valid destination port");
    return std::nullopt;
  }
  return hp;
}

std::optional<std::string> readChoice(Ctx& ctx, const Node& n, std::string_view what,
                                      const std::vector<std::string>& choices) {
  std::string expected;
  for (const std::string& c : choices) expected += (expected.empty() ? "" : " | ") + c;
  if (!expectScalar(ctx, n, what, expected)) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), n.scalar) != choices.end()) return n.scalar;
  std::string message = std::string(what) + ": " + shown(n) + " is not one of " + expected;
  const std::string near = closestMatch(n.scalar, choices);
  if (!near.empty()) message += "; did you mean " + quote(near) + "?";
  ctx.error(n, message);
  return std::nullopt;
}

std::optional<std::vector<std::string>> readStringList(Ctx& ctx, const Node& n,
                                                       std::string_view what, bool allowSingle) {
  std::vector<std::string> out;
  if (allowSingle && n.isScalar()) {
    std::optional<std::string> s = readString(ctx, n, what);
    if (!s) return std::nullopt;
    out.push_back(*s);
    return out;
  }
  const std::vector<Node>* items = readList(ctx, n, what);
  if (items == nullptr) return std::nullopt;
  bool ok = true;
  for (const Node& item : *items) {
    std::optional<std::string> s = readString(ctx, item, std::string(what) + " item");
    if (s) {
      out.push_back(*s);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

const std::vector<Node>* readList(Ctx& ctx, const Node& n, std::string_view what) {
  static const std::vector<Node> kEmpty;
  if (n.isNull()) return &kEmpty;
  if (n.isSequence()) return &n.items;
  std::string hint;
  if (n.isScalar()) hint = ": write [" + n.scalar + "] or one '- item' per line";
  if (n.isMap()) hint = ": start each item with '- '";
  ctx.error(n, std::string(what) + ": expected a list, got " + n.describe() + hint);
  return nullptr;
}

std::vector<const MapEntry*> readNamedMap(Ctx& ctx, const Node& n, std::string_view what) {
  std::vector<const MapEntry*> out;
  if (n.isNull()) return out;
  if (!n.isMap()) {
    ctx.error(n, std::string(what) + ": expected a map of name: settings, got " + n.describe());
    return out;
  }
  std::map<std::string, const MapEntry*, std::less<>> seen;
  for (const MapEntry& e : n.entries) {
    auto [it, inserted] = seen.emplace(e.key, &e);
    if (!inserted) {
      ctx.error(e, "duplicate " + std::string(what) + " entry " + quote(e.key) +
                       " (first defined at line " + std::to_string(it->second->line) + ")");
      continue;
    }
    out.push_back(&e);
  }
  return out;
}

Fields::Fields(Ctx& ctx, const Node& node, std::string where, std::vector<std::string> keys)
    : ctx_(ctx), node_(node), where_(std::move(where)), keys_(std::move(keys)) {
  if (node.isNull()) return;
  if (!node.isMap()) {
    ctx.error(node, where_ + ": expected a map of settings, got " + node.describe());
    return;
  }
  isMap_ = true;
  std::map<std::string, const MapEntry*, std::less<>> seen;
  for (const MapEntry& e : node.entries) {
    auto [it, inserted] = seen.emplace(e.key, &e);
    if (!inserted) {
      ctx.error(e, "duplicate key " + quote(e.key) + " in " + where_ + " (first defined at line " +
                       std::to_string(it->second->line) + "); remove one");
      continue;
    }
    if (std::find(keys_.begin(), keys_.end(), e.key) != keys_.end()) {
      present_.push_back(&e);
      continue;
    }
    if (looksLikeSecretKey(e.key)) {
      std::string envKey;
      for (const std::string& k : keys_) {
        if (endsWith(k, "_env")) envKey = k;
      }
      std::string message =
          quote(e.key) + " in " + where_ + ": secrets must not be written in the config file";
      if (envKey.empty()) {
        message += "; they come from the environment (keys ending in _env) or from files, and " +
                   where_ + " takes none: remove it";
      } else if (envKey == "key_env") {
        message += "; private keys come from files or key_env: use key: FILE or key_env: VARIABLE";
      } else {
        message += "; use " + envKey + ": VARIABLE_NAME and export the value in that variable";
      }
      ctx.error(e, message);
      continue;
    }
    std::string message = "unknown key " + quote(e.key) + " in " + where_;
    const std::string near = closestMatch(e.key, keys_);
    if (!near.empty()) {
      message += "; did you mean " + quote(near) + "?";
    } else {
      std::string valid;
      for (const std::string& k : keys_) valid += (valid.empty() ? "" : ", ") + k;
      message += " (valid keys: " + valid + ")";
    }
    ctx.error(e, message);
  }
}

const MapEntry* Fields::entry(std::string_view key) const {
  for (const MapEntry* e : present_) {
    if (e->key == key) return e;
  }
  return nullptr;
}

const Node* Fields::get(std::string_view key) const {
  const MapEntry* e = entry(key);
  return e == nullptr ? nullptr : &e->value;
}

bool Fields::require(std::string_view key) {
  if (has(key)) return true;
  // Only a map (or nothing at all) can be missing a key; a wrong type was
  // already reported.
  if (isMap_ || node_.isNull()) {
    ctx_.error(node_, where_ + ": missing required key " + quote(key));
  }
  return false;
}

void Fields::str(std::string_view key, std::string& out) {
  if (const Node* n = get(key)) {
    if (auto v = readString(ctx_, *n, key)) out = std::move(*v);
  }
}

void Fields::uint(std::string_view key, uint64_t& out, uint64_t min, uint64_t max) {
  if (const Node* n = get(key)) {
    if (auto v = readUint(ctx_, *n, key, min, max)) out = *v;
  }
}

void Fields::uint(std::string_view key, unsigned& out, unsigned min, unsigned max) {
  if (const Node* n = get(key)) {
    if (auto v = readUint(ctx_, *n, key, min, max)) out = static_cast<unsigned>(*v);
  }
}

void Fields::boolean(std::string_view key, bool& out) {
  if (const Node* n = get(key)) {
    if (auto v = readBool(ctx_, *n, key)) out = *v;
  }
}

void Fields::duration(std::string_view key, Duration& out, bool allowZero) {
  if (const Node* n = get(key)) {
    if (auto v = readDuration(ctx_, *n, key, allowZero)) out = *v;
  }
}

void Fields::size(std::string_view key, uint64_t& out) {
  if (const Node* n = get(key)) {
    if (auto v = readSize(ctx_, *n, key)) out = *v;
  }
}

void Fields::strList(std::string_view key, std::vector<std::string>& out, bool allowSingle) {
  if (const Node* n = get(key)) {
    if (auto v = readStringList(ctx_, *n, key, allowSingle)) out = std::move(*v);
  }
}

}  // namespace edge::conf::detail
