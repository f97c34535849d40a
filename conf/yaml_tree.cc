// The only file that includes yaml-cpp: YAML text to detail::Node, with
// ${NAME} substitution done once here so that every string value, whatever
// key it sits under, follows the same rule.
#include "conf/yaml_tree.h"

#include <yaml-cpp/yaml.h>

#include <string_view>

namespace edge::conf::detail {
namespace {

// Aliases can make a small file expand into a huge tree ("billion laughs");
// these bounds keep a hostile or broken file from exhausting memory.
constexpr int kMaxDepth = 64;
constexpr size_t kMaxNodes = 200000;

bool isEnvNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool isEnvNameChar(char c) {
  return isEnvNameStart(c) || (c >= '0' && c <= '9');
}

class Converter {
 public:
  Converter(const std::string& file, const EnvLookup& env, std::vector<ConfigError>& errors)
      : file_(file), env_(env), errors_(errors) {}

  void convert(const YAML::Node& in, Node& out, int line, int column, int depth) {
    // yaml-cpp gives empty values the mark of the next token (or none at
    // all); the caller's position (the key) is the one users can act on.
    const YAML::Mark mark = in.Mark();
    if (in.Type() != YAML::NodeType::Null && mark.line >= 0) {
      line = mark.line + 1;
      column = mark.column + 1;
    }
    out.line = line;
    out.column = column;
    if (++nodes_ > kMaxNodes) {
      if (!tooBig_) error(line, column, "the document is too large (more than 200000 nodes)");
      tooBig_ = true;
      return;
    }
    if (depth > kMaxDepth) {
      if (!tooDeep_) error(line, column, "the document is nested too deeply");
      tooDeep_ = true;
      return;
    }
    switch (in.Type()) {
      case YAML::NodeType::Scalar:
        out.kind = Node::Kind::kScalar;
        out.quoted = in.Tag() == "!";
        out.scalar = substitute(in.Scalar(), line, column);
        break;
      case YAML::NodeType::Sequence:
        out.kind = Node::Kind::kSequence;
        out.items.reserve(in.size());
        for (const auto& item : in) {
          out.items.emplace_back();
          convert(item, out.items.back(), line, column, depth + 1);
        }
        break;
      case YAML::NodeType::Map:
        out.kind = Node::Kind::kMap;
        for (const auto& kv : in) {
          MapEntry entry;
          const YAML::Mark km = kv.first.Mark();
          entry.line = km.line >= 0 ? km.line + 1 : line;
          entry.column = km.line >= 0 ? km.column + 1 : column;
          if (!kv.first.IsScalar()) {
            error(entry.line, entry.column, "a key must be a plain string, not a list or a map");
            continue;
          }
          entry.key = kv.first.Scalar();
          convert(kv.second, entry.value, entry.line, entry.column, depth + 1);
          out.entries.push_back(std::move(entry));
        }
        break;
      default:
        out.kind = Node::Kind::kNull;
        break;
    }
  }

 private:
  // "${NAME}" -> the variable's value; "$${" -> a literal "${".
  std::string substitute(const std::string& in, int line, int column) {
    if (in.find('$') == std::string::npos) return in;
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] != '$') {
        out += in[i];
        continue;
      }
      if (in.compare(i, 3, "$${") == 0) {
        out += "${";
        i += 2;
        continue;
      }
      if (i + 1 >= in.size() || in[i + 1] != '{') {
        out += '$';
        continue;
      }
      const size_t close = in.find('}', i + 2);
      if (close == std::string::npos) {
        error(line, column,
              "unterminated '${' in '" + in + "': write ${NAME} (or $${ for a literal '${')");
        return in;
      }
      const std::string name = in.substr(i + 2, close - i - 2);
      bool valid = !name.empty() && isEnvNameStart(name[0]);
      for (char c : name) valid = valid && isEnvNameChar(c);
      if (!valid) {
        error(line, column,
              "'${" + name +
                  "}' is not a valid environment variable reference: names are letters, "
                  "digits and '_'");
        return in;
      }
      std::optional<std::string> value = env_ ? env_(name) : std::nullopt;
      if (!value) {
        error(line, column,
              "environment variable " + name + " is not set (referenced as ${" + name +
                  "}): export it or remove the reference");
        return in;
      }
      out += *value;
      i = close;
    }
    return out;
  }

  void error(int line, int column, std::string message) {
    errors_.push_back(ConfigError{file_, line, column, std::move(message)});
  }

  const std::string& file_;
  const EnvLookup& env_;
  std::vector<ConfigError>& errors_;
  size_t nodes_ = 0;
  bool tooBig_ = false;
  bool tooDeep_ = false;
};

}  // namespace

const char* Node::describe() const {
  switch (kind) {
    case Kind::kNull:
      return "nothing";
    case Kind::kScalar:
      return "a single value";
    case Kind::kSequence:
      return "a list";
    case Kind::kMap:
      return "a map";
  }
  return "something else";
}

bool parseYamlTree(const std::string& text, const std::string& file, const EnvLookup& env,
                   Node& root, std::vector<ConfigError>& errors) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    // e.msg is the reason without yaml-cpp's own "line X, column Y" prefix.
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    const int column = e.mark.column >= 0 ? e.mark.column + 1 : 1;
    errors.push_back(ConfigError{file, line, column, "YAML syntax error: " + e.msg});
    return false;
  } catch (const std::exception& e) {
    errors.push_back(ConfigError{file, 1, 1, std::string("YAML syntax error: ") + e.what()});
    return false;
  }
  root = Node{};
  root.line = 1;
  root.column = 1;
  if (docs.empty()) return true;
  if (docs.size() > 1) {
    const YAML::Mark m = docs[1].Mark();
    errors.push_back(ConfigError{file, m.line >= 0 ? m.line + 1 : 1, m.line >= 0 ? m.column + 1 : 1,
                                 "only one YAML document is allowed; remove the second '---'"});
  }
  try {
    Converter(file, env, errors).convert(docs[0], root, 1, 1, 0);
  } catch (const std::exception& e) {
    errors.push_back(ConfigError{file, 1, 1, std::string("YAML error: ") + e.what()});
    return false;
  }
  return true;
}

}  // namespace edge::conf::detail
