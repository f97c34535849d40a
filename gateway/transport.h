#pragma once
// The byte transport under a client connection: plain TCP or TLS over it.
// Reads into and writes from evbuffers with the errno conventions of
// read(2) / evbuffer_write: >0 bytes, 0 end of stream (reads), -1 with errno
// EAGAIN when the socket is not ready. The plain path is an inline call of
// what the codec did before; TLS goes through OpenSSL on the same socket.
//
// With TLS a read can be blocked on the socket being writable (a handshake
// message to send) and a write on it being readable: readWantsWrite() /
// writeWantsRead() say so after an EAGAIN, and the connection arms the other
// event. hasPending(): bytes are buffered inside OpenSSL (decrypted, or read
// ahead from the socket), which the kernel cannot signal: read again without
// waiting for an event.
//
// The codec is chosen by the connection from alpn() once the handshake is
// done: "h2" hands the transport to an Http2Connection, anything else is
// HTTP/1.1.
#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "gateway/loop.h"
#include "tls/ssl_handles.h"

namespace edge {
namespace tls {
class ServerContext;
}

class Transport {
 public:
  explicit Transport(UniqueFd fd) : fd_(std::move(fd)) {}
  Transport(UniqueFd fd, std::shared_ptr<const tls::ServerContext> ctx, tls::SslPtr ssl);
  Transport(Transport&&) noexcept = default;
  Transport& operator=(Transport&&) noexcept = default;
  ~Transport();

  int fd() const { return fd_.get(); }
  // Plain transports only: gives the socket back.
  int release() { return fd_.release(); }
  bool tls() const { return ssl_ != nullptr; }

  ssize_t read(evbuffer* in, size_t max) {
    if (!ssl_) return readInto(in, fd_.get(), max);
    return tlsRead(in, max);
  }
  int write(evbuffer* out) {
    if (!ssl_) return evbuffer_write(out, fd_.get());
    return tlsWrite(out);
  }
  // Writes until `out` is empty or the socket would block: the bytes written,
  // or -1 (errno set) when the connection is broken.
  ssize_t writeAll(evbuffer* out);

  // A connection's socket events, shared by the HTTP/1 and HTTP/2 codecs.
  // Owned by the connection; loop thread only.
  struct Interest {
    event* read_ev = nullptr;
    event* write_ev = nullptr;
    bool* reading = nullptr;      // the connection wants to read
    bool* read_forced = nullptr;  // TLS: read event armed for a write blocked on reading
    bool* write_armed = nullptr;
  };
  // After a write: the write event is armed exactly while bytes wait in `out`
  // (or a TLS read waits for the socket to be writable), and the read event
  // is armed when a TLS write waits for it to be readable. Returns whether
  // the write event is now armed.
  bool updateInterest(evbuffer* out, const Interest& io) const;
  // On a readable socket, after a TLS write that waited for it went on: drops
  // the read event armed only for that write. Whether the connection reads.
  bool releaseForcedRead(const Interest& io) const;
  // End of our output: close_notify (TLS), then FIN.
  void shutdownWrite();
  // TLS: one attempt at close_notify, the peer's not waited for (plain: nothing).
  void closeNotify();

  // TLS only (false for plain).
  bool readWantsWrite() const { return read_wants_write_; }
  bool writeWantsRead() const { return write_wants_read_; }
  bool hasPending() const { return ssl_ && tlsPending(); }
  bool handshakeDone() const;
  // Once, when the handshake has just completed or failed: true and sets ok.
  bool takeHandshakeOutcome(bool* ok);
  std::string_view serverName() const;
  std::string_view alpn() const;
  std::string_view version() const;

 private:
  ssize_t tlsRead(evbuffer* in, size_t max);
  int tlsWrite(evbuffer* out);
  bool tlsPending() const;
  // errno-style result for an SSL_get_error code; sets the want flags.
  int failure(int ssl_error, bool reading);

  UniqueFd fd_;
  std::shared_ptr<const tls::ServerContext> ctx_;
  tls::SslPtr ssl_;
  bool read_wants_write_ = false;
  bool write_wants_read_ = false;
  bool handshake_reported_ = false;
  bool handshake_failed_ = false;
  bool read_starved_ = false;  // the last TLS read ended wanting socket bytes
};

}  // namespace edge
