#include "cache/entry.h"

#include "gateway/http1/parser.h"

namespace edge::cache {

void Entry::setFields(const FieldList& from) {
  size_t total = 0;
  for (const auto& [n, v] : from) total += n.size() + v.size();
  field_text.clear();
  field_text.reserve(total);
  std::vector<std::pair<size_t, size_t>> offs;  // name and value offsets
  offs.reserve(from.size());
  for (const auto& [n, v] : from) {
    offs.emplace_back(field_text.size(), field_text.size() + n.size());
    field_text.append(n).append(v);
  }
  fields.clear();
  fields.reserve(from.size());
  etag = last_modified = {};
  std::string_view text(field_text);
  for (size_t i = 0; i < from.size(); ++i) {
    std::string_view n = text.substr(offs[i].first, from[i].first.size());
    std::string_view v = text.substr(offs[i].second, from[i].second.size());
    fields.emplace_back(n, v);
    if (http1::iequals(n, "etag")) etag = v;
    if (http1::iequals(n, "last-modified")) last_modified = v;
  }
}

}  // namespace edge::cache
