#pragma once
// What the host and redirect steps decide, as pure functions of the config
// snapshot and the request: HostPolicy, RedirectPolicy and `edgegate explain`
// call these same functions, so explain cannot drift from what the gateway
// does. No I/O, no allocation unless a redirect is built; any thread.
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "gateway/http1/parser.h"
#include "gateway/snapshot.h"

namespace edge {

struct ResponseOut;

// The parts of a request the rules read.
struct RequestFacts {
  std::string_view method;
  std::string_view host;  // Host, or the authority of an absolute-form target, which wins
  std::string_view path;  // as received: no percent-decoding
  bool has_query = false;
  std::string_view query;
  bool tls = false;  // the client's connection is TLS
  static RequestFacts of(const http1::RequestHead& req, bool tls);
};

struct Redirect {
  uint16_t status = 0;  // 0: no redirect
  std::string location;
  const char* reason = "";  // static text for explain: "alias", "https", "alias+https", ...
  explicit operator bool() const { return status != 0; }
};

// ACME HTTP-01 challenges are answered on the host and scheme they were asked
// on: the CA checks that very name, often before HTTPS works at all.
bool isAcmeChallenge(std::string_view path);

// The configured status for GET and HEAD; 308 for every other method, which
// keeps the method and body (a 301 would let clients turn a POST into a GET).
uint16_t redirectStatus(int configured, std::string_view method);

// Alias -> canonical_host and plain HTTP -> https:// in one hop. When the
// site's redirect map also matches the path, its target goes into that same
// hop (never a chain of redirects). The host comes from the config only.
// No redirect for an already canonical request or an ACME challenge.
Redirect canonicalRedirect(const Snapshot& snap, const HostMatch& match, const RequestFacts& req);

// The site's redirect map for a request that is already canonical. A
// relative `to` stays relative: the client resolves it on the host it asked.
Redirect mapRedirect(const Snapshot& snap, const conf::Site& site, const RequestFacts& req);

// The site's response header policy: response_headers.set replaces what the
// origin sent (never a second copy), .remove drops fields, and HSTS is added
// on TLS responses only (browsers ignore it over plain HTTP, and a plain-HTTP
// hop must not be able to pin a host to HTTPS).
void applySiteHeaders(const conf::Site& site, bool tls, ResponseOut& head);

}  // namespace edge
