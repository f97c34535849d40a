#pragma once
// The redirect map of one site (`redirects:`), as a byte trie over the rules'
// paths: a lookup walks the request path once, so thousands of old campaign
// URLs cost O(path length) per request, not O(rules). It lives in conf/
// because the loader's loop check must follow redirects exactly as the
// gateway's redirect step will (one matcher for both). Pure data: built once
// per configuration, then read-only from any thread.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.h"

namespace edge::conf {

struct RedirectMatch {
  int rule = -1;          // index into the site's redirects; -1 = no rule matches
  size_t prefix_len = 0;  // bytes of the path the rule consumed (all of it for `from`)
  explicit operator bool() const { return rule >= 0; }
};

class RedirectMap {
 public:
  RedirectMap() = default;
  // The first of two rules with the same `from` (or `from_prefix`) wins; the
  // loader refuses such duplicates anyway.
  explicit RedirectMap(const std::vector<RedirectRule>& rules);

  // An exact `from` equal to the whole path wins; otherwise the longest
  // `from_prefix` the path starts with. Paths are compared byte for byte, as
  // sent (no percent-decoding, case-sensitive), like nginx locations.
  RedirectMatch match(std::string_view path) const;
  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, uint32_t>> next;  // few children: linear scan
    int32_t exact = -1;                                    // rule whose `from` ends here
    int32_t prefix = -1;                                   // rule whose `from_prefix` ends here
  };
  uint32_t child(uint32_t node, unsigned char c) const;  // 0 = none (the root is never a child)
  uint32_t addPath(std::string_view path);

  std::vector<Node> nodes_{Node{}};
};

// The Location of a matched rule: its `to`, then for a prefix rule the rest
// of the path after the prefix, then the request's query (joined with '&'
// when `to` already has one). Every byte is copied as received: a
// percent-encoding stays exactly as the client wrote it.
std::string redirectTarget(const RedirectRule& rule, std::string_view rest, bool has_query,
                           std::string_view query);

// Joins a path-and-query onto an origin: "https://example.com" + "/a?b".
// A `to` that is already an absolute URL is returned as it is.
std::string absoluteTarget(std::string_view origin, std::string_view target);

bool isAbsoluteUrl(std::string_view s);  // "http://..." or "https://..."

}  // namespace edge::conf
