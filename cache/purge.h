#pragma once
// POST /cache/purge (admin thread): {"url": "https://example.com/a"} drops that
// URL's entry and its Vary variants, {"prefix": "https://example.com/assets/"}
// every key starting so, {"tag": "product-42"} every entry whose Cache-Tag /
// Surrogate-Key named it.
#include <cstdint>
#include <string>
#include <string_view>

namespace edge {
class Snapshot;
}

namespace edge::cache {

struct PurgeResult {
  bool ok = false;
  uint64_t purged = 0;
  std::string error;  // when !ok: what is wrong with the body
};

PurgeResult purge(const Snapshot& snapshot, std::string_view body);

}  // namespace edge::cache
