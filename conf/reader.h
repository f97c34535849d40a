#pragma once
// Typed, error-collecting access to detail::Node for the loader's section
// parsers. Every reader reports its own problems (with the node's position)
// into Ctx and returns whether it produced a value, so a section parser reads
// straight through and the load reports every problem at once. Internal to
// conf/; main thread only.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/loader.h"
#include "conf/yaml_tree.h"

namespace edge::conf::detail {

class Ctx {
 public:
  Ctx(std::string file, const EnvLookup& env) : file_(std::move(file)), env_(env) {}

  void error(int line, int column, std::string message);
  void error(const Node& at, std::string message) { error(at.line, at.column, std::move(message)); }
  void error(const MapEntry& at, std::string message) {
    error(at.line, at.column, std::move(message));
  }
  bool hasErrors() const { return !errors_.empty(); }
  // Sorted into file order, exact repeats (from YAML aliases) dropped.
  std::vector<ConfigError> takeErrors();
  std::vector<ConfigError>& errors() { return errors_; }
  const std::string& file() const { return file_; }
  // Resolves a *_env variable: reports an invalid name, an unset or empty
  // variable at `at`; `key` is the YAML key ("token_env") for the message.
  std::optional<std::string> resolveEnv(const Node& at, std::string_view key,
                                        const std::string& name);

 private:
  std::string file_;
  const EnvLookup& env_;
  std::vector<ConfigError> errors_;
};

// Scalar readers. `what` names the setting in messages ("max_connections").
std::optional<std::string> readString(Ctx& ctx, const Node& n, std::string_view what);
std::optional<uint64_t> readUint(Ctx& ctx, const Node& n, std::string_view what, uint64_t min = 0,
                                 uint64_t max = UINT64_MAX);
std::optional<bool> readBool(Ctx& ctx, const Node& n, std::string_view what);
std::optional<Duration> readDuration(Ctx& ctx, const Node& n, std::string_view what,
                                     bool allowZero = true);
std::optional<uint64_t> readSize(Ctx& ctx, const Node& n, std::string_view what);
std::optional<HostPort> readHostPort(Ctx& ctx, const Node& n, std::string_view what,
                                     bool allowPortZero);
// One of a fixed set of words, with "did you mean" on a near miss.
std::optional<std::string> readChoice(Ctx& ctx, const Node& n, std::string_view what,
                                      const std::vector<std::string>& choices);
// A list of strings; `allowSingle` also accepts one bare string (rate_limit,
// key). A missing or empty value is an empty list.
std::optional<std::vector<std::string>> readStringList(Ctx& ctx, const Node& n,
                                                       std::string_view what,
                                                       bool allowSingle = false);
// The items of a list (empty for null), or nullptr after reporting a non-list.
const std::vector<Node>* readList(Ctx& ctx, const Node& n, std::string_view what);
// The entries of a map whose keys are user-chosen names (upstreams, policies,
// headers): duplicates are reported and dropped. Null is an empty map.
std::vector<const MapEntry*> readNamedMap(Ctx& ctx, const Node& n, std::string_view what);

// A map with a fixed set of keys. Construction reports a non-map value, unknown
// keys (with "did you mean"), secrets written literally, and duplicate keys.
class Fields {
 public:
  Fields(Ctx& ctx, const Node& node, std::string where, std::vector<std::string> keys);

  const Node* get(std::string_view key) const;
  const MapEntry* entry(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }
  bool isMap() const { return isMap_; }
  const Node& node() const { return node_; }
  const std::string& where() const { return where_; }
  // Reports a required key that is absent; returns whether it is present.
  bool require(std::string_view key);

  // Assign the parsed value when the key is present and valid; the field
  // keeps its default otherwise.
  void str(std::string_view key, std::string& out);
  void uint(std::string_view key, uint64_t& out, uint64_t min = 0, uint64_t max = UINT64_MAX);
  void uint(std::string_view key, unsigned& out, unsigned min = 0, unsigned max = UINT32_MAX);
  void boolean(std::string_view key, bool& out);
  void duration(std::string_view key, Duration& out, bool allowZero = true);
  void size(std::string_view key, uint64_t& out);
  void strList(std::string_view key, std::vector<std::string>& out, bool allowSingle = false);

 private:
  Ctx& ctx_;
  const Node& node_;
  std::string where_;
  std::vector<std::string> keys_;
  std::vector<const MapEntry*> present_;  // first occurrence of each valid key
  bool isMap_ = false;
};

}  // namespace edge::conf::detail
