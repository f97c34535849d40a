#pragma once
// RAII owners for libevent handles, and Loop: one event_base plus the two
// services every object on it needs: posting work from other threads, and
// deferred deletion (never destroy an object inside its own callback).
#include <event2/buffer.h>
#include <event2/event.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace edge {

struct EventBaseDeleter {
  void operator()(event_base* b) const { event_base_free(b); }
};
struct EventDeleter {
  void operator()(event* e) const { event_free(e); }
};
struct EvbufferDeleter {
  void operator()(evbuffer* b) const { evbuffer_free(b); }
};
using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;
using EventPtr = std::unique_ptr<event, EventDeleter>;
using EvbufferPtr = std::unique_ptr<evbuffer, EvbufferDeleter>;

// Owns a socket descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Something that lives on a loop and can be handed to deferDelete().
class Deletable {
 public:
  virtual ~Deletable() = default;
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  event_base* base() const { return base_.get(); }

  // Any thread: runs fn on this loop's thread, in order of posting.
  void post(std::function<void()> fn);
  // Loop thread: takes ownership and frees the object after the current callback.
  void deferDelete(std::unique_ptr<Deletable> obj);
  // Frees everything deferred, including what those destructors defer. For
  // shutdown, while the objects the deferred ones point at still exist.
  void runDeferred();

  // Loop thread: monotonic clock in microseconds (vDSO, no syscall).
  static uint64_t nowMicros();

 private:
  static void onPosted(evutil_socket_t, short, void* arg);
  static void onDeferred(evutil_socket_t, short, void* arg);

  EventBasePtr base_;
  EventPtr posted_event_;
  EventPtr deferred_event_;
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::unique_ptr<Deletable>> deferred_;
};

// Creates a timer or I/O event bound to a member function.
template <typename T, void (T::*Method)(short)>
EventPtr makeEvent(event_base* base, int fd, short what, T* self) {
  return EventPtr(event_new(
      base, fd, what,
      [](evutil_socket_t, short ev, void* arg) { (static_cast<T*>(arg)->*Method)(ev); }, self));
}

// Reads up to max bytes from fd straight into buf's free space. Unlike
// evbuffer_read it does not ask the kernel how much is pending first (one
// ioctl per read saved, a third of a small request's syscalls). Returns what
// read(2) returned (errno set on -1).
ssize_t readInto(evbuffer* buf, int fd, size_t max);

inline timeval toTimeval(uint64_t ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

}  // namespace edge
