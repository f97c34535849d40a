#pragma once
// One stored response. Immutable once published to the store and shared by
// reference (std::shared_ptr<const Entry>): a hit on any worker writes the
// body straight from here, and a purge or eviction while a hit is being
// written only drops the store's reference.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/freshness.h"
#include "cache/http_fields.h"

namespace edge::cache {

struct Entry {
  Entry() = default;
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

  std::string key;  // primary key (key.h)
  // Request field (lower case) and normalised value for each field the response's Vary
  // named: a request matches this variant when its values are the same.
  std::vector<std::pair<std::string, std::string>> vary;
  uint16_t status = 200;
  // The origin's header fields, framing and hop-by-hop fields removed, Age left out (it is
  // computed at each hit). `fields` holds views into `field_text`.
  std::string field_text;
  FieldList fields;
  std::string body;
  Freshness freshness;
  std::string_view etag;           // into field_text, empty when none
  std::string_view last_modified;  // into field_text, empty when none
  std::vector<std::string> tags;   // Cache-Tag / Surrogate-Key items

  // What the entry costs in memory: headers, body and bookkeeping.
  size_t charge() const {
    size_t n = sizeof(Entry) + 128 + key.size() + field_text.size() + body.size() +
               fields.size() * sizeof(fields[0]);
    for (const auto& [k, v] : vary) n += k.size() + v.size() + 64;
    for (const auto& t : tags) n += t.size() + 32;
    return n;
  }

  // Fills field_text / fields / etag / last_modified from a list of fields.
  void setFields(const FieldList& from);
};

}  // namespace edge::cache
