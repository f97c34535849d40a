#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <ctime>

namespace edge::tls {

TicketKeys::TicketKeys(std::chrono::seconds rotate_every, size_t keep)
    : rotate_every_(rotate_every.count()), keep_(keep < 1 ? 1 : keep) {}

TicketKeys& TicketKeys::global() {
  static TicketKeys keys;
  return keys;
}

int64_t TicketKeys::nowSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

bool TicketKeys::addKeyLocked(int64_t now) {
  Key k;
  if (RAND_bytes(k.name, sizeof k.name) != 1 || RAND_bytes(k.aes, sizeof k.aes) != 1 ||
      RAND_bytes(k.hmac, sizeof k.hmac) != 1)
    return false;
  k.created = now;
  keys_.push_front(k);
  while (keys_.size() > keep_) keys_.pop_back();
  return true;
}

void TicketKeys::rotate() {
  std::lock_guard<std::mutex> lock(mu_);
  addKeyLocked(nowSeconds());
}

size_t TicketKeys::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.size();
}

int TicketKeys::handle(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
                       EVP_MAC_CTX* hctx, int enc) {
  Key key;
  bool current = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = nowSeconds();
    if (keys_.empty() || now - keys_.front().created >= rotate_every_) {
      if (!addKeyLocked(now) && keys_.empty()) return -1;
    }
    if (enc) {
      key = keys_.front();
    } else {
      bool found = false;
      for (size_t i = 0; i < keys_.size(); ++i) {
        if (memcmp(keys_[i].name, key_name, 16) == 0) {
          key = keys_[i];
          current = i == 0;
          found = true;
          break;
        }
      }
      if (!found) return 0;  // unknown or aged-out key: full handshake
    }
  }
  OSSL_PARAM params[3];
  params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac, sizeof key.hmac);
  params[1] =
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  params[2] = OSSL_PARAM_construct_end();
  if (enc) {
    memcpy(key_name, key.name, 16);
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH < 16 ? EVP_MAX_IV_LENGTH : 16) != 1) return -1;
    if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1) return -1;
    if (EVP_MAC_CTX_set_params(hctx, params) != 1) return -1;
    return 1;
  }
  if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1) return -1;
  if (EVP_MAC_CTX_set_params(hctx, params) != 1) return -1;
  return current ? 1 : 2;
}

namespace {
int ticketCallback(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
                   EVP_MAC_CTX* hctx, int enc) {
  int r = TicketKeys::global().handle(key_name, iv, cctx, hctx, enc);
  // TLS 1.3: a resumption sends a new ticket only when the callback asks for
  // one (2). Without it a client that resumed holds a used ticket, and one
  // that does not reuse tickets (RFC 8446 C.4; wrk does not) makes every other
  // connection a full handshake.
  if (r == 1 && !enc && SSL_version(ssl) == TLS1_3_VERSION) return 2;
  return r;
}
}  // namespace

bool TicketKeys::install(SSL_CTX* ctx) {
  return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticketCallback) == 1;
}

}  // namespace edge::tls
