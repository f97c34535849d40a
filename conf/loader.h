#pragma once
// YAML -> validated Config. Called from the main thread only (start-up, SIGHUP,
// POST /reload, `edgegate -t`); never on a worker loop.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace edge::conf {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position (unreadable file)
  int column = 0;  // 1-based
  std::string message;  // the reason, and the fix or a "did you mean" where one exists
  std::string str() const;  // "FILE:LINE:COL: message"
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // set only when errors is empty
  std::vector<ConfigError> errors;       // every problem found, in file order
  bool ok() const { return errors.empty(); }
};

// Environment lookup, injectable for tests. Returns nullopt for an unset variable.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup processEnv();

LoadResult loadConfigFile(const std::string& path, const EnvLookup& env = processEnv());
// `name` is what error messages print as FILE.
LoadResult loadConfigString(const std::string& yaml, const std::string& name,
                            const EnvLookup& env = processEnv());

// Value grammars of SPEC.md, exposed for reuse and tests. nullopt = invalid.
std::optional<Duration> parseDuration(std::string_view text);  // 250ms 10s 5m 1h 1d
std::optional<uint64_t> parseSize(std::string_view text);      // 512 32KiB 256MiB 1GiB (also KB/MB)
struct Rate {
  uint64_t tokens;
  Duration window;
};
std::optional<Rate> parseRate(std::string_view text);  // 10/1m 100/1s 30/1h (also 10/m)
std::optional<HostPort> parseHostPort(std::string_view text);
std::optional<Cidr> parseCidr(std::string_view text);

}  // namespace edge::conf
