#pragma once
// TLS for one listener: its certificates, grouped by the names they serve
// (RSA and ECDSA certificates for the same names share one SSL_CTX, and
// OpenSSL hands ECDSA to clients that support it), SNI selection (exact
// names, then one-label wildcards, else the first certificate), ALPN, the
// protocol floor, ciphers with forward secrecy only, session tickets (keys in
// memory, rotated: ticket_keys.h) and a server-side session cache.
//
// Built on the main thread (start, reload, `edgegate -t`); immutable after
// that and shared by every worker. A connection keeps its SSL (and through
// it its SSL_CTX) alive after a reload swaps the set.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "tls/ssl_handles.h"

namespace edge::tls {

// Certificates expiring sooner than this are reported as warnings.
constexpr int64_t kExpiryWarningSeconds = 14 * 24 * 3600;

struct CertInfo {
  std::string path;                // the cert file, as configured
  std::vector<std::string> names;  // DNS SANs (or the CN when there is none), lower case
  int64_t not_after = 0;           // Unix seconds
  bool ecdsa = false;
};

struct LoadReport {
  std::vector<std::string> errors;    // each names the file concerned
  std::vector<std::string> warnings;  // e.g. expiring within 14 days
  bool ok() const { return errors.empty(); }
};

class ServerContext {
 public:
  // nullptr with errors in report when any certificate fails to load.
  static std::shared_ptr<const ServerContext> build(const conf::TlsConfig& cfg,
                                                    const std::string& listener, LoadReport& report,
                                                    int64_t now);
  // A server-side SSL for an accepted socket (SNI may switch its SSL_CTX).
  // The caller keeps this ServerContext alive as long as the SSL.
  SslPtr newSsl(int fd) const;
  const std::vector<CertInfo>& certificates() const { return certs_; }
  // The SSL_CTX serving that host name: exact, then "*.parent", else the default.
  SSL_CTX* select(std::string_view host) const;

  // The protocol chosen by ALPN for a finished handshake ("h2", "http/1.1"
  // or empty): the connection picks its codec from it.
  static std::string_view alpnSelected(const SSL* ssl);
  // The client's SNI name, or empty.
  static std::string_view serverName(const SSL* ssl);

 private:
  std::vector<SslCtxPtr> contexts_;  // [0] is the default
  std::map<std::string, SSL_CTX*, std::less<>> by_name_;
  std::vector<CertInfo> certs_;
};

// Every TLS listener of a configuration, by listener name.
struct TlsSet {
  std::map<std::string, std::shared_ptr<const ServerContext>, std::less<>> by_listener;
  std::vector<CertInfo> certificates() const;
};

// Loads every listener's certificates: the `-t` check, and what start and
// reload use. Null (and errors) when anything fails.
std::shared_ptr<const TlsSet> buildTlsSet(const conf::Config& config, LoadReport& report);

// One certificate and its key: readable, parsed, the key matching, not expired.
bool loadCertificate(const conf::TlsCertificate& c, X509Ptr& cert, PkeyPtr& key,
                     std::vector<X509Ptr>* chain, CertInfo& info, LoadReport& report, int64_t now);

// True when `name` (lower case) is served by the SAN `pattern` ("*.x.y"
// covers exactly one more label).
bool nameMatches(std::string_view pattern, std::string_view name);

}  // namespace edge::tls
