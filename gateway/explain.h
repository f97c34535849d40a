#pragma once
// `edgegate explain -c FILE [-X METHOD] [-H 'Name: value']... [--json] URL`:
// what the configuration would do with one request, without sending
// anything. The request is parsed by the gateway's own HTTP/1 parser and
// decided by the same functions as HostPolicy and RedirectPolicy
// (gateway/site_rules.h); the rest (route, upstream, cache and rate-limit
// policies) is read off the route the gateway would pick. Ops run it to check
// a YAML change before a reload. Main thread, no network.
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "gateway/snapshot.h"

namespace edge {

struct ExplainRequest {
  std::string method = "GET";
  std::vector<std::string> headers;  // "Name: value"
  std::string url;                   // http:// or https:// URL
};

// key: value pairs in a stable order (see docs/configuration.md, "edgegate explain").
using ExplainLines = std::vector<std::pair<std::string, std::string>>;

// False with `error` set when the URL or a header cannot make a request.
bool explainRequest(const Snapshot& snap, const ExplainRequest& req, ExplainLines& out,
                    std::string& error);

// The command: args are what follows "explain". Exit 0 with the decision,
// 1 for a bad configuration, URL or header, 2 for bad usage.
int runExplain(const std::vector<std::string>& args, const std::string& default_config, FILE* out,
               FILE* err);

}  // namespace edge
