#include "gateway/upstream/upstream_connection.h"

#include <errno.h>

namespace edge {

UpstreamConnection::UpstreamConnection(event_base* base, UniqueFd fd, ServerState& server)
    : fd_(std::move(fd)), server_(server), in_(evbuffer_new()), out_(evbuffer_new()) {
  read_ev_ = makeEvent<UpstreamConnection, &UpstreamConnection::onRead>(base, fd_.get(),
                                                                        EV_READ | EV_PERSIST, this);
  write_ev_ = makeEvent<UpstreamConnection, &UpstreamConnection::onWrite>(
      base, fd_.get(), EV_WRITE | EV_PERSIST, this);
  timer_ev_ = makeEvent<UpstreamConnection, &UpstreamConnection::onTimer>(base, -1, 0, this);
}

UpstreamConnection::~UpstreamConnection() = default;

int UpstreamConnection::readSome(size_t max) {
  ssize_t n = readInto(in_.get(), fd_.get(), max);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -2 : -1;
  return static_cast<int>(n);
}

bool UpstreamConnection::flush() {
  while (evbuffer_get_length(out_.get()) > 0) {
    int n = evbuffer_write(out_.get(), fd_.get());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
  }
  watchWritable(evbuffer_get_length(out_.get()) > 0);
  return true;
}

void UpstreamConnection::enableRead(bool on) {
  if (on == reading_) return;
  reading_ = on;
  if (on)
    event_add(read_ev_.get(), nullptr);
  else
    event_del(read_ev_.get());
}

void UpstreamConnection::watchWritable(bool on) {
  if (on == write_armed_) return;
  write_armed_ = on;
  if (on)
    event_add(write_ev_.get(), nullptr);
  else
    event_del(write_ev_.get());
}

void UpstreamConnection::setTimer(uint64_t ms) {
  timeval tv = toTimeval(ms);
  event_add(timer_ev_.get(), &tv);
}

void UpstreamConnection::cancelTimer() {
  event_del(timer_ev_.get());
}

void UpstreamConnection::onRead(short) {
  if (handler_) handler_->onUpstreamReadable(*this);
}
void UpstreamConnection::onWrite(short) {
  if (handler_) handler_->onUpstreamWritable(*this);
}
void UpstreamConnection::onTimer(short) {
  if (handler_) handler_->onUpstreamTimer(*this);
}

}  // namespace edge
