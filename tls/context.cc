#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "tls/ticket_keys.h"

namespace edge::tls {
namespace {

// TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only. TLS 1.3 suites
// are all forward-secret; OpenSSL's defaults are kept.
constexpr const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3 suites: OpenSSL's three, AES-128-GCM first as for TLS 1.2 (and as
// Mozilla's recommended configurations order them). Its SHA-256 runs the key
// schedule at about twice the speed of AES-256's SHA-384 (SHA extensions),
// the largest hash cost of a handshake.
constexpr const char* kSuites13 =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";
constexpr const char* kSessionIdContext = "edgegate";
constexpr long kSessionCacheSize = 20480;
constexpr long kSessionTimeoutSeconds = 3600;
// TLS 1.3 tickets sent after a full handshake (OpenSSL's default is 2). The
// second costs a session copy, its encryption and a write: some 10% of a full
// handshake's CPU. A resumption always brings a fresh ticket (ticket_keys.cc),
// so a client keeps one in hand for its next connection.
constexpr size_t kTicketsPerHandshake = 1;

std::string lastSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool readFile(const std::string& path, std::string& out, std::string& error) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) {
    error = strerror(errno);
    return false;
  }
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool bad = ferror(f);
  int saved = errno;
  fclose(f);
  if (bad) {
    error = strerror(saved);
    return false;
  }
  return true;
}

std::vector<std::string> certNames(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = g->d.dNSName;
      names.push_back(
          lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<size_t>(ASN1_STRING_length(s)))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0)
      names.push_back(lower(cn));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

int64_t asn1Seconds(const ASN1_TIME* t) {
  tm parts{};
  if (ASN1_TIME_to_tm(t, &parts) != 1) return 0;
  return static_cast<int64_t>(timegm(&parts));
}

int onServerName(SSL* ssl, int* alert, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  SSL_CTX* ctx = self->select(name);
  if (ctx != SSL_get_SSL_CTX(ssl) && SSL_set_SSL_CTX(ssl, ctx) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

// ALPN lists in wire format, in the listener's order of preference; the
// connection picks its codec from alpnSelected() after the handshake.
constexpr unsigned char kAlpnH2H1[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char kAlpnH1H2[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1', 2, 'h', '2'};
constexpr unsigned char kAlpnH1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};

struct AlpnList {
  const unsigned char* wire;
  unsigned len;
};
constexpr AlpnList kAlpnLists[] = {{kAlpnH2H1, sizeof kAlpnH2H1},
                                   {kAlpnH1H2, sizeof kAlpnH1H2},
                                   {kAlpnH1, sizeof kAlpnH1},
                                   {kAlpnH2, sizeof kAlpnH2}};

const AlpnList* alpnFor(const std::vector<std::string>& alpn) {
  bool h2 = std::find(alpn.begin(), alpn.end(), "h2") != alpn.end();
  bool h1 = std::find(alpn.begin(), alpn.end(), "http/1.1") != alpn.end();
  if (h2 && h1) return alpn.front() == "h2" ? &kAlpnLists[0] : &kAlpnLists[1];
  return h2 ? &kAlpnLists[3] : &kAlpnLists[2];
}

int onAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
           unsigned int inlen, void* arg) {
  const auto* ours = static_cast<const AlpnList*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, ours->wire, ours->len, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: carry on without ALPN (HTTP/1.1)
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

SslCtxPtr newContext(const conf::TlsConfig& cfg, std::string& error) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    error = lastSslError();
    return nullptr;
  }
  int min = cfg.min_version == "TLSv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  uint64_t opts = SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                  SSL_OP_NO_COMPRESSION | SSL_OP_SINGLE_ECDH_USE | SSL_OP_IGNORE_UNEXPECTED_EOF;
  SSL_CTX_set_options(ctx.get(), opts);
  if (SSL_CTX_set_min_proto_version(ctx.get(), min) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx.get(), kCiphers12) != 1 ||
      SSL_CTX_set_ciphersuites(ctx.get(), kSuites13) != 1 ||
      SSL_CTX_set1_groups_list(ctx.get(), kGroups) != 1 ||
      SSL_CTX_set_session_id_context(ctx.get(),
                                     reinterpret_cast<const unsigned char*>(kSessionIdContext),
                                     strlen(kSessionIdContext)) != 1 ||
      !TicketKeys::install(ctx.get())) {
    error = lastSslError();
    return nullptr;
  }
  SSL_CTX_set_num_tickets(ctx.get(), kTicketsPerHandshake);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx.get(), kSessionCacheSize);
  SSL_CTX_set_timeout(ctx.get(), kSessionTimeoutSeconds);
  // NO_AUTO_CHAIN: the chain sent is the one configured (the cert file's extra
  // certificates); without it OpenSSL tries to build one from the context's
  // (empty) store on every handshake when the file has none.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
  // Read-ahead: one read(2) takes whatever the socket holds (the client's
  // Finished and first request arrive together) instead of a read for each
  // record header and one for each body. Transport::hasPending() accounts
  // for the bytes it buffers.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_set_alpn_select_cb(ctx.get(), onAlpn, const_cast<AlpnList*>(alpnFor(cfg.alpn)));
  return ctx;
}

}  // namespace

bool nameMatches(std::string_view pattern, std::string_view name) {
  if (pattern == name) return true;
  if (pattern.size() < 3 || pattern.substr(0, 2) != "*.") return false;
  size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  return name.substr(dot + 1) == pattern.substr(2);
}

bool loadCertificate(const conf::TlsCertificate& c, X509Ptr& cert, PkeyPtr& key,
                     std::vector<X509Ptr>* chain, CertInfo& info, LoadReport& report, int64_t now) {
  info.path = c.cert;
  std::string pem, error;
  if (!readFile(c.cert, pem, error)) {
    report.errors.push_back(c.cert + ": cannot read the certificate: " + error);
    return false;
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    report.errors.push_back(c.cert + ": " + lastSslError());
    return false;
  }
  cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    report.errors.push_back(c.cert + ": not a PEM certificate");
    return false;
  }
  if (chain) {
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
      chain->emplace_back(extra);
  }
  ERR_clear_error();  // the end of the chain reads as an error

  std::string key_pem, key_where = c.key;
  if (!c.key.empty()) {
    if (!readFile(c.key, key_pem, error)) {
      report.errors.push_back(c.key + ": cannot read the private key: " + error);
      return false;
    }
  } else {
    key_pem = c.key_pem;
    key_where = "key_env " + c.key_env + " (for " + c.cert + ")";
  }
  BioPtr kbio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  key.reset(kbio ? PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr) : nullptr);
  key_pem.assign(key_pem.size(), '\0');
  if (!key) {
    ERR_clear_error();
    report.errors.push_back(key_where + ": not a PEM private key (or it is encrypted)");
    return false;
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    report.errors.push_back(key_where + ": the private key does not match the certificate " +
                            c.cert);
    return false;
  }
  info.names = certNames(cert.get());
  info.not_after = asn1Seconds(X509_get0_notAfter(cert.get()));
  info.ecdsa = EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC;
  if (info.not_after <= now) {
    report.errors.push_back(c.cert + ": the certificate has expired");
    return false;
  }
  if (info.names.empty()) {
    report.errors.push_back(c.cert + ": the certificate names no host (no DNS SAN, no CN)");
    return false;
  }
  if (info.not_after - now < kExpiryWarningSeconds) {
    char when[32];
    time_t t = static_cast<time_t>(info.not_after);
    tm parts{};
    gmtime_r(&t, &parts);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &parts);
    report.warnings.push_back(c.cert + ": the certificate expires within 14 days (" + when + ")");
  }
  return true;
}

std::shared_ptr<const ServerContext> ServerContext::build(const conf::TlsConfig& cfg,
                                                          const std::string& listener,
                                                          LoadReport& report, int64_t now) {
  auto self = std::make_shared<ServerContext>();
  // Certificates naming the same hosts share a context (RSA + ECDSA pairs).
  std::map<std::vector<std::string>, SSL_CTX*> by_names;
  size_t errors_before = report.errors.size();
  for (const auto& c : cfg.certificates) {
    X509Ptr cert;
    PkeyPtr key;
    std::vector<X509Ptr> chain;
    CertInfo info;
    if (!loadCertificate(c, cert, key, &chain, info, report, now)) continue;
    SSL_CTX* ctx = nullptr;
    auto it = by_names.find(info.names);
    if (it != by_names.end()) {
      ctx = it->second;
    } else {
      std::string error;
      SslCtxPtr fresh = newContext(cfg, error);
      if (!fresh) {
        report.errors.push_back("listener " + listener + ": " + error);
        return nullptr;
      }
      ctx = fresh.get();
      self->contexts_.push_back(std::move(fresh));
      by_names.emplace(info.names, ctx);
      for (const auto& n : info.names) self->by_name_.emplace(n, ctx);  // first one wins
    }
    // use_certificate selects the slot of the key type; the chain and key go to that slot.
    if (SSL_CTX_use_certificate(ctx, cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_clear_chain_certs(ctx) != 1) {
      report.errors.push_back(c.cert + ": " + lastSslError());
      continue;
    }
    bool chain_ok = true;
    for (auto& extra : chain) {
      if (SSL_CTX_add1_chain_cert(ctx, extra.get()) != 1) chain_ok = false;
    }
    if (!chain_ok) {
      report.errors.push_back(c.cert + ": chain: " + lastSslError());
      continue;
    }
    self->certs_.push_back(std::move(info));
  }
  if (report.errors.size() != errors_before) return nullptr;
  if (self->contexts_.empty()) {
    report.errors.push_back("listener " + listener + ": no certificate");
    return nullptr;
  }
  for (auto& ctx : self->contexts_) SSL_CTX_set_tlsext_servername_callback(ctx.get(), onServerName);
  // The callback reads this object through its argument: whoever holds an
  // SSL from newSsl() keeps the ServerContext alive as long as the SSL.
  for (auto& ctx : self->contexts_) SSL_CTX_set_tlsext_servername_arg(ctx.get(), self.get());
  return self;
}

SSL_CTX* ServerContext::select(std::string_view host) const {
  std::string name = lower(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return it->second;
  size_t dot = name.find('.');
  if (dot != std::string::npos && dot > 0) {
    it = by_name_.find("*" + name.substr(dot));
    if (it != by_name_.end()) return it->second;
  }
  return contexts_.front().get();
}

SslPtr ServerContext::newSsl(int fd) const {
  SslPtr ssl(SSL_new(contexts_.front().get()));
  if (!ssl) return nullptr;
  if (SSL_set_fd(ssl.get(), fd) != 1) return nullptr;
  SSL_set_accept_state(ssl.get());
  return ssl;
}

std::string_view ServerContext::alpnSelected(const SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &p, &len);
  return p ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
}

std::string_view ServerContext::serverName(const SSL* ssl) {
  const char* n = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return n ? std::string_view(n) : std::string_view();
}

std::vector<CertInfo> TlsSet::certificates() const {
  std::vector<CertInfo> out;
  for (const auto& [name, ctx] : by_listener)
    for (const auto& c : ctx->certificates()) out.push_back(c);
  return out;
}

std::shared_ptr<const TlsSet> buildTlsSet(const conf::Config& config, LoadReport& report) {
  auto set = std::make_shared<TlsSet>();
  int64_t now = static_cast<int64_t>(time(nullptr));
  for (const auto& l : config.listeners) {
    if (!l.tls) continue;
    auto ctx = ServerContext::build(*l.tls, l.name, report, now);
    if (ctx) set->by_listener.emplace(l.name, std::move(ctx));
  }
  if (!report.ok()) return nullptr;
  return set;
}

}  // namespace edge::tls
