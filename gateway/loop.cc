#include "gateway/loop.h"

#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include <cstdlib>

namespace edge {

ssize_t readInto(evbuffer* buf, int fd, size_t max) {
  evbuffer_iovec vec[2];
  int n = evbuffer_reserve_space(buf, static_cast<ev_ssize_t>(max), vec, 2);
  if (n <= 0) {
    errno = ENOMEM;
    return -1;
  }
  // Never more than asked for: reserve_space may hand out larger extents.
  size_t total = 0;
  for (int i = 0; i < n; ++i) {
    if (total + vec[i].iov_len > max) vec[i].iov_len = max - total;
    total += vec[i].iov_len;
  }
  ssize_t got = n == 1 ? ::read(fd, vec[0].iov_base, vec[0].iov_len)
                       : ::readv(fd, reinterpret_cast<iovec*>(vec), n);
  if (got <= 0) {
    evbuffer_commit_space(buf, vec, 0);
    return got;
  }
  size_t left = static_cast<size_t>(got);
  for (int i = 0; i < n; ++i) {
    if (vec[i].iov_len > left) vec[i].iov_len = left;
    left -= vec[i].iov_len;
  }
  evbuffer_commit_space(buf, vec, n);
  return got;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Loop::Loop() {
  event_config* cfg = event_config_new();
  // Timers and I/O are driven from this thread only; no need for the
  // base's internal lock except for post()/event_active from other threads,
  // which evthread_use_pthreads() (called once in main) enables.
  base_.reset(event_base_new_with_config(cfg));
  event_config_free(cfg);
  if (!base_) abort();
  posted_event_.reset(event_new(base_.get(), -1, 0, &Loop::onPosted, this));
  deferred_event_.reset(event_new(base_.get(), -1, 0, &Loop::onDeferred, this));
}

Loop::~Loop() {
  // Free what is pending before the base goes away.
  runDeferred();
}

void Loop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(fn));
  }
  event_active(posted_event_.get(), EV_READ, 0);
}

void Loop::onPosted(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Loop*>(arg);
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    work.swap(self->posted_);
  }
  for (auto& fn : work) fn();
}

void Loop::deferDelete(std::unique_ptr<Deletable> obj) {
  if (deferred_.empty()) event_active(deferred_event_.get(), EV_READ, 0);
  deferred_.push_back(std::move(obj));
}

void Loop::onDeferred(evutil_socket_t, short, void* arg) {
  static_cast<Loop*>(arg)->runDeferred();
}

void Loop::runDeferred() {
  // Destructors may defer more objects; loop until the list stays empty.
  while (!deferred_.empty()) {
    std::vector<std::unique_ptr<Deletable>> batch;
    batch.swap(deferred_);
    batch.clear();
  }
}

uint64_t Loop::nowMicros() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace edge
