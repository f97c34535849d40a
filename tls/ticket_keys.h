#pragma once
// Session ticket keys, kept in memory only and rotated: a new key encrypts
// tickets every rotation interval; the previous ones still decrypt (and ask
// for a renewed ticket) until they age out. One set per process, shared by
// every SSL_CTX and surviving reloads, so a reload does not end resumption.
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>

namespace edge::tls {

class TicketKeys {
 public:
  explicit TicketKeys(std::chrono::seconds rotate_every = std::chrono::hours(1), size_t keep = 3);

  // The process-wide set.
  static TicketKeys& global();
  // Installs the callback on ctx (SSL_CTX_set_tlsext_ticket_key_evp_cb).
  static bool install(SSL_CTX* ctx);

  // The callback's body: 1 = ok, 2 = ok and renew the ticket, 0 = unknown key, -1 = error.
  int handle(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx,
             int enc);
  // Forces a new encryption key now (tests).
  void rotate();
  size_t size() const;

 private:
  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    int64_t created = 0;
  };
  bool addKeyLocked(int64_t now);  // front = current
  static int64_t nowSeconds();

  const int64_t rotate_every_;
  const size_t keep_;
  mutable std::mutex mu_;
  std::deque<Key> keys_;
};

}  // namespace edge::tls
