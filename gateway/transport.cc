#include "gateway/transport.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "tls/context.h"

namespace edge {
namespace {
// One TLS record's worth of plaintext per SSL_write.
constexpr size_t kTlsWriteChunk = 16 * 1024;
}  // namespace

Transport::Transport(UniqueFd fd, std::shared_ptr<const tls::ServerContext> ctx, tls::SslPtr ssl)
    : fd_(std::move(fd)), ctx_(std::move(ctx)), ssl_(std::move(ssl)) {}

Transport::~Transport() {
  ssl_.reset();  // before the context whose callbacks it may still reference
  ctx_.reset();
}

int Transport::failure(int ssl_error, bool reading) {
  switch (ssl_error) {
    case SSL_ERROR_WANT_READ:
      if (!reading) write_wants_read_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      if (reading) read_wants_write_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify (or EOF, SSL_OP_IGNORE_UNEXPECTED_EOF)
      if (reading) return 0;
      errno = EPIPE;
      return -1;
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (errno == 0 || errno == EAGAIN) errno = ECONNRESET;
      if (!SSL_is_init_finished(ssl_.get())) handshake_failed_ = true;
      return -1;
    default:  // SSL_ERROR_SSL: protocol error, handshake failure
      ERR_clear_error();
      if (!SSL_is_init_finished(ssl_.get())) handshake_failed_ = true;
      errno = EPROTO;
      return -1;
  }
}

ssize_t Transport::tlsRead(evbuffer* in, size_t max) {
  read_wants_write_ = false;
  read_starved_ = false;
  size_t total = 0;
  while (total < max) {
    evbuffer_iovec vec;
    size_t want = max - total;
    if (evbuffer_reserve_space(in, static_cast<ev_ssize_t>(want), &vec, 1) < 1) {
      errno = ENOMEM;
      return total > 0 ? static_cast<ssize_t>(total) : -1;
    }
    size_t got = 0;
    int r = SSL_read_ex(ssl_.get(), vec.iov_base, std::min(vec.iov_len, want), &got);
    if (r == 1) {
      vec.iov_len = got;
      evbuffer_commit_space(in, &vec, 1);
      total += got;
      // Nothing left inside OpenSSL: like the plain path, one socket read per
      // event (it is level-triggered); another read would mostly be an EAGAIN.
      if (SSL_has_pending(ssl_.get()) != 1) break;
      continue;
    }
    int err = SSL_get_error(ssl_.get(), r);
    if (err == SSL_ERROR_WANT_READ) read_starved_ = true;
    if (total > 0) {
      // What was read is delivered; a lasting error shows again on the next read.
      if (err == SSL_ERROR_WANT_WRITE) read_wants_write_ = true;
      ERR_clear_error();
      break;
    }
    return failure(err, true);
  }
  return static_cast<ssize_t>(total);
}

int Transport::tlsWrite(evbuffer* out) {
  write_wants_read_ = false;
  size_t total = 0;
  while (size_t len = evbuffer_get_length(out)) {
    len = std::min(len, kTlsWriteChunk);
    const unsigned char* data = evbuffer_pullup(out, static_cast<ev_ssize_t>(len));
    if (!data) {
      errno = ENOMEM;
      return -1;
    }
    size_t written = 0;
    int r = SSL_write_ex(ssl_.get(), data, len, &written);
    if (r != 1) {
      int err = SSL_get_error(ssl_.get(), r);
      if (total > 0 && (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ)) {
        if (err == SSL_ERROR_WANT_READ) write_wants_read_ = true;
        break;
      }
      return failure(err, false);
    }
    evbuffer_drain(out, written);
    total += written;
  }
  return static_cast<int>(total);
}

bool Transport::updateInterest(evbuffer* out, const Interest& io) const {
  bool pending = evbuffer_get_length(out) > 0;
  if (ssl_) {
    // A TLS read may wait for the socket to be writable, a write for it to be readable.
    if (read_wants_write_ && *io.reading) pending = true;
    if (write_wants_read_ && !*io.read_forced) {
      *io.read_forced = true;
      event_add(io.read_ev, nullptr);
    }
  }
  if (pending != *io.write_armed) {
    *io.write_armed = pending;
    if (pending)
      event_add(io.write_ev, nullptr);
    else
      event_del(io.write_ev);
  }
  return pending;
}

bool Transport::releaseForcedRead(const Interest& io) const {
  if (*io.read_forced && !write_wants_read_) {
    *io.read_forced = false;
    if (!*io.reading) event_del(io.read_ev);
  }
  return *io.reading;
}

ssize_t Transport::writeAll(evbuffer* out) {
  ssize_t total = 0;
  while (evbuffer_get_length(out) > 0) {
    int n = write(out);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    total += n;
  }
  return total;
}

void Transport::closeNotify() {
  if (ssl_ && SSL_is_init_finished(ssl_.get()) && SSL_shutdown(ssl_.get()) < 0) ERR_clear_error();
}

void Transport::shutdownWrite() {
  closeNotify();
  ::shutdown(fd_.get(), SHUT_WR);
}

bool Transport::tlsPending() const {
  // With read-ahead, OpenSSL may hold bytes it took from the socket but has
  // not decrypted yet: SSL_has_pending counts them, SSL_pending would not.
  // After a read that ran dry they are at most part of a record, which only
  // the socket can complete.
  return !read_starved_ && SSL_has_pending(ssl_.get()) == 1;
}

bool Transport::handshakeDone() const {
  return !ssl_ || SSL_is_init_finished(ssl_.get());
}

bool Transport::takeHandshakeOutcome(bool* ok) {
  if (!ssl_ || handshake_reported_) return false;
  if (SSL_is_init_finished(ssl_.get())) {
    *ok = true;
  } else if (handshake_failed_) {
    *ok = false;
  } else {
    return false;
  }
  handshake_reported_ = true;
  return true;
}

std::string_view Transport::serverName() const {
  return ssl_ ? tls::ServerContext::serverName(ssl_.get()) : std::string_view();
}

std::string_view Transport::alpn() const {
  return ssl_ ? tls::ServerContext::alpnSelected(ssl_.get()) : std::string_view();
}

std::string_view Transport::version() const {
  return ssl_ ? std::string_view(SSL_get_version(ssl_.get())) : std::string_view();
}

}  // namespace edge
