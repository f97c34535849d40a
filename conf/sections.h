#pragma once
// The section parsers behind loadConfigString, split across files by size.
// Each reads its section into `config`, reporting every problem into ctx.
// Internal to conf/; main thread only.
#include "conf/config.h"
#include "conf/reader.h"
#include "conf/yaml_tree.h"

namespace edge::conf::detail {

void parseServer(Ctx& ctx, const Node& node, ServerConfig& out);
void parseListeners(Ctx& ctx, const Node& node, std::vector<Listener>& out);
void parseUpstreams(Ctx& ctx, const Node& node, std::map<std::string, Upstream>& out);
void parseCache(Ctx& ctx, const Node& node, CacheConfig& out);
void parseRateLimits(Ctx& ctx, const Node& node, RateLimitConfig& out);
// Runs last: routes refer to upstreams, cache and rate-limit policies by name.
void parseSites(Ctx& ctx, const Node& node, Config& config);

}  // namespace edge::conf::detail
