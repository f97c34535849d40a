#pragma once
// Cache keys. The primary key is "host/path?query": the canonical host (lower
// case, no port), the path as received, and the query without the policy's
// ignore_query_params, the order of the other parameters kept. Vary
// variants hang under it, told apart by the request's values of the fields
// the response named (Accept-Encoding normalised so that "gzip, br" and
// "br,gzip" are one variant).
#include <string>
#include <string_view>
#include <vector>

namespace edge::cache {

// Appends the primary key to out (cleared first). host is a raw Host value.
void buildKey(std::string_view host, std::string_view path, std::string_view query, bool has_query,
              const std::vector<std::string>& ignore_query_params, std::string& out);

// The key a purge URL ("https://example.com/a?b", or "example.com/a") names, with the
// same normalisation; false when the URL has no host.
bool keyFromUrl(std::string_view url, const std::vector<std::string>& ignore_query_params,
                std::string& out);

// The value a request field contributes to a variant's identity.
std::string normalizeVaryValue(std::string_view field_name, std::string_view value);

}  // namespace edge::cache
