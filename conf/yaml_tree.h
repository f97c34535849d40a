#pragma once
// A yaml-cpp-free copy of the parsed document. The loader validates this tree
// rather than YAML::Node so that yaml-cpp stays inside yaml_tree.cc, and so
// that every node carries its own 1-based position (yaml-cpp loses it for
// empty values) and every map keeps its duplicate keys for reporting.
// Internal to conf/; called on the main thread only.
#include <cstddef>
#include <string>
#include <vector>

#include "conf/loader.h"

namespace edge::conf::detail {

struct MapEntry;

struct Node {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  int line = 0;                   // 1-based
  int column = 0;                 // 1-based
  std::string scalar;             // kScalar: the value after ${NAME} substitution
  bool quoted = false;            // written in quotes (so never a null / bool by accident)
  std::vector<Node> items;        // kSequence
  std::vector<MapEntry> entries;  // kMap, file order, duplicates kept

  bool isNull() const { return kind == Kind::kNull; }
  bool isScalar() const { return kind == Kind::kScalar; }
  bool isSequence() const { return kind == Kind::kSequence; }
  bool isMap() const { return kind == Kind::kMap; }
  // "a string", "a list", "a map", "nothing": for "expected X, got Y" messages.
  const char* describe() const;
};

struct MapEntry {
  std::string key;
  int line = 0;
  int column = 0;
  Node value;
};

// Parses one YAML document. Syntax errors, unset ${NAME} variables and
// non-scalar keys are appended to `errors`; returns false when the document
// could not be parsed at all (then `root` is meaningless).
bool parseYamlTree(const std::string& text, const std::string& file, const EnvLookup& env,
                   Node& root, std::vector<ConfigError>& errors);

}  // namespace edge::conf::detail
