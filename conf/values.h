#pragma once
// Helpers shared by the loader files and Config::toJson: the inverse of the
// value grammars (so /config prints what a user would write) and the small
// string utilities behind "did you mean" suggestions. Internal to conf/.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace edge::conf::detail {

// 90000ms -> "90s", 3600000ms -> "1h", 1500ms -> "1500ms": the largest unit
// that divides the value exactly, so parseDuration(formatDuration(d)) == d.
std::string formatDuration(Duration d);
// 33554432 -> "32MiB", 1000 -> "1000": exact binary units only.
std::string formatSize(uint64_t bytes);
// "10/1m"
std::string formatRate(uint64_t tokens, Duration window);

std::string toLower(std::string_view s);
// Optimal string alignment distance (Levenshtein plus adjacent transposition),
// since "upsteram" is as common a typo as "upstrem".
size_t editDistance(std::string_view a, std::string_view b);
// The candidate close enough to `word` to be a likely typo, or "".
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);
// RFC 9110 token: header names and methods.
bool isToken(std::string_view s);
// [A-Za-z_][A-Za-z0-9_]*
bool isEnvName(std::string_view s);

}  // namespace edge::conf::detail
