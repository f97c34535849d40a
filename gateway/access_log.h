#pragma once
// The access log (SPEC.md "Access log"): one JSON object a line.
//
// Each worker formats its lines into a buffer of its own (AccessLogLane):
// the request's strings are still in that core's cache, and nothing is shared
// per line. A full buffer, or one its worker's timer finds older than
// kFlushMs, is handed to one writer thread, which writes it with one write(2)
// and gives it back. A lane has a bounded number of buffers: when the writer
// cannot keep up (the disk or the pipe behind the log stalls) lines are
// dropped and counted, so a stalled destination costs a worker nothing, never
// a wait. The lane's mutex is taken once per buffer (tens of kilobytes), by
// its worker and the writer only; no lock is shared between workers.
//
// SIGUSR1 (logrotate) and a reload that changes the path reopen the file on
// the writer thread.
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "conf/config.h"

namespace edge {

// The fields of one line; the strings are views (the gateway's point into the
// finished exchange and live until the line is formatted).
struct AccessLogView {
  enum Str : uint8_t {
    kRequestId,
    kClientIp,
    kMethod,
    kHost,
    kTarget,
    kSite,
    kRoute,
    kUpstream,
    kStrCount
  };
  // Strings the gateway has restricted to bytes that need no JSON escape, so
  // the formatter copies them without looking at each byte: the request id
  // (generated, or a client's X-Request-Id that passed the sanity check),
  // the client address (inet_ntop), the method (an HTTP token) and the host
  // (a validated Host or authority). The target and the names from the
  // configuration are escaped. (Debug builds assert it.)
  static constexpr std::array<bool, kStrCount> kPlain{true,  true,  true,  true,
                                                      false, false, false, false};
  int64_t ts_us = 0;  // wall clock (µs since the epoch) of the request's first byte
  uint64_t duration_us = 0;
  int64_t upstream_us = -1;  // -1: no origin answered
  uint64_t bytes = 0;        // response body bytes sent to the client
  uint16_t status = 0;
  // Static strings (need no escape either):
  const char* cache = nullptr;      // from the cache policy, or none
  const char* ratelimit = nullptr;  // from the rate-limit policy, or none
  const char* protocol = nullptr;   // "HTTP/1.0", "HTTP/1.1", "HTTP/2", or unknown
  std::array<std::string_view, kStrCount> str{};
  std::array<bool, kStrCount> present{};  // absent strings are written as null

  void set(Str s, std::string_view value) {
    str[s] = value;
    present[s] = true;
  }
};

// A line formatted but for its two time fields (`ts` and the value of
// `duration_ms`, known once the response's last byte is written): the worker
// formats it when the exchange ends, while the exchange's strings exist.
struct AccessLogLine {
  std::string buf;  // [0, split) before the duration, [split, len) after it
  size_t split = 0;
  size_t len = 0;
  // Room for n bytes in buf.
  void reserve(size_t n);
};

// Formats v (redaction included) into out, all but the time fields.
void formatAccessLogBody(const AccessLogView& v, const std::vector<std::string>& redact,
                         AccessLogLine& out);

// Replaces the value of every query parameter named in `names` (compared
// without case, after percent-decoding the name) and of authorization, cookie
// and set-cookie by REDACTED. `target` is a request target as received.
void redactTarget(std::string_view target, const std::vector<std::string>& names, std::string& out);
// One JSON line (with the trailing newline) for v, appended to out:
// formatAccessLogBody, then the time fields, as AccessLogLane::append does.
void formatAccessLogLine(const AccessLogView& v, const std::vector<std::string>& redact,
                         std::string& out);

class AccessLog;

// One worker's lines on their way to the writer thread.
class AccessLogLane {
 public:
  AccessLogLane(AccessLog& log, size_t buffer_bytes, size_t max_buffers);
  // Loop thread: writes the line of `body` with its time fields into the
  // current buffer. False, and counted as dropped, when every buffer of the
  // lane is full and waits for the writer. `started` is set when the line
  // opened a new buffer: the caller arranges for handOff() within kFlushMs, so
  // that a quiet server's lines still show.
  bool append(const AccessLogLine& body, int64_t ts_us, uint64_t duration_us,
              bool* started = nullptr);
  // Loop thread: hands the current buffer, if it holds lines, to the writer.
  void handOff();
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  friend class AccessLog;
  struct Buffer {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
    size_t size = 0;
    uint64_t lines = 0;
  };
  // Loop thread: a current buffer with `bytes` free, or false.
  bool makeRoom(size_t bytes);
  // Loop thread: queues cur_ (which holds lines) for the writer.
  void moveToFull(bool wake);
  // Writer thread: the buffers handed over, oldest first; then back for reuse.
  void takeFull(std::vector<Buffer>& out);
  void giveBack(std::vector<Buffer>& done);
  // Writer thread, once the workers have stopped: the current buffer too.
  void takeCurrent(std::vector<Buffer>& out);

  AccessLog& log_;
  const size_t buffer_bytes_;
  const size_t max_buffers_;
  Buffer cur_;     // loop thread
  std::mutex mu_;  // full_, free_, buffers_: this lane's worker and the writer
  std::vector<Buffer> full_, free_;
  size_t buffers_ = 0;  // allocated, cur_ included
  std::atomic<uint64_t> dropped_{0};
};

class AccessLog {
 public:
  // Per worker: up to 16 buffers of 64 KiB (about 200 lines each), 1 MiB at
  // most, several seconds of lines at 10k requests/s if the writer stalls.
  static constexpr size_t kBufferBytes = 64 * 1024;
  static constexpr size_t kMaxBuffers = 16;
  // A worker hands over a buffer that is not full at most this long after its
  // first line (a busy worker fills one in a few milliseconds).
  static constexpr int kFlushMs = 100;
  // How often the writer looks at the lanes while lines come.
  static constexpr int kWriterPollMs = 50;

  explicit AccessLog(size_t buffer_bytes = kBufferBytes, size_t max_buffers = kMaxBuffers);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Main thread, before the workers start: one lane per worker, then the
  // writer thread.
  void start(const conf::AccessLogConfig& cfg, unsigned lanes);
  AccessLogLane& lane(unsigned i) { return *lanes_[i]; }
  // Any thread (reload): a new path is opened by the writer. (The workers
  // redact with the names of their own configuration snapshot.)
  void configure(const conf::AccessLogConfig& cfg);
  // Any thread (SIGUSR1): close and reopen the file at its path.
  void reopen();
  // Main thread, after the workers stopped: writes what is queued and what
  // the lanes hold (for at most `flush_ms`: a destination that does not take
  // it loses it) and joins.
  void stop(int flush_ms = 2000);

  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // Any thread, for /metrics.
  uint64_t linesWritten() const { return written_.load(std::memory_order_relaxed); }
  uint64_t linesDropped() const;  // lane overflows plus lines the destination refused
  uint64_t writeErrors() const { return write_errors_.load(std::memory_order_relaxed); }
  uint64_t reopens() const { return reopens_.load(std::memory_order_relaxed); }
  // Prometheus text of the access log families.
  std::string renderMetrics() const;

 private:
  struct Settings {
    std::string path;  // stdout | off | file
  };
  friend class AccessLogLane;
  // A lane handed a buffer over: wakes the writer.
  void wake();
  void run();
  // Writer thread.
  void openDestination(const std::string& path);
  void closeDestination();
  // Writes the buffers (or counts their lines as lost) unless the path is off.
  void writeBuffers(std::vector<AccessLogLane::Buffer>& buffers, const std::string& path,
                    int64_t deadline_ms);
  bool writeBatch(const char* data, size_t size, uint64_t lines, int64_t deadline_ms);

  size_t buffer_bytes_, max_buffers_;
  std::vector<std::unique_ptr<AccessLogLane>> lanes_;
  std::atomic<bool> enabled_{false};

  std::mutex mu_;  // settings, flags, wake-ups (writer and control threads only)
  std::condition_variable cv_;
  std::shared_ptr<const Settings> settings_;
  bool reopen_ = false;
  bool wake_ = false;
  bool stop_ = false;
  int64_t stop_deadline_ms_ = 0;
  std::thread thread_;

  // Writer thread only.
  int fd_ = -1;
  bool owns_fd_ = false;
  std::string open_path_;
  int64_t next_open_try_ms_ = 0;

  std::atomic<uint64_t> written_{0}, lost_{0}, write_errors_{0}, reopens_{0};
};

}  // namespace edge
