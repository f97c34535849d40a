#pragma once
// The access log (SPEC.md "Access log"): one JSON object a line.
//
// Workers never touch the file: each worker owns a bounded single-producer
// ring (AccessLogRing) into which it swaps a small entry of raw fields; one
// writer thread drains every ring, formats the JSON (redaction included) and
// writes it with one write(2) per batch. When a ring is full (the disk or the
// pipe behind the log stalls) the entry is dropped and counted, so a stalled
// destination costs a worker one failed push, never a wait. No lock is shared
// between workers: a ring has one producer (its worker) and one consumer (the
// writer).
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

// The fixed-size fields of one line: plain data, copied with one assignment
// when an entry is queued.
struct AccessLogFields {
  int64_t ts_us = 0;  // wall clock (µs since the epoch) of the request's first byte
  uint64_t duration_us = 0;
  int64_t upstream_us = -1;  // -1: no origin answered
  uint64_t bytes = 0;        // response body bytes sent to the client
  uint16_t status = 0;
  const char* cache = nullptr;      // a static string from the cache policy, or none
  const char* ratelimit = nullptr;  // a static string from the rate-limit policy, or none
  const char* protocol = nullptr;   // "HTTP/1.0", "HTTP/1.1", "HTTP/2", or unknown
};

// The raw fields of one line. Strings are copied back to back into `text` (one
// buffer, reused: pushing swaps it with the ring slot's consumed buffer).
struct AccessLogEntry : AccessLogFields {
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
  std::string text;
  std::array<uint32_t, kStrCount> len{};
  std::array<bool, kStrCount> present{};

  // Loop thread: starts a new entry (keeps text's capacity).
  void clear();
  // Appends field s; fields must be set in Str order (absent ones skipped).
  void set(Str s, std::string_view value);
  // Appends to field s, which must be the last one set.
  void append(Str s, std::string_view more) {
    text.append(more);
    len[s] += static_cast<uint32_t>(more.size());
  }
  std::string_view get(Str s) const;
};

// Replaces the value of every query parameter named in `names` (compared
// without case, after percent-decoding the name) and of authorization, cookie
// and set-cookie by REDACTED. `target` is a request target as received.
void redactTarget(std::string_view target, const std::vector<std::string>& names, std::string& out);
// One JSON line (with the trailing newline) for the entry.
void formatAccessLogLine(const AccessLogEntry& e, const std::vector<std::string>& redact,
                         std::string& out);

class AccessLog;

// Single producer (one worker's loop thread), single consumer (the writer).
class AccessLogRing {
 public:
  explicit AccessLogRing(AccessLog& log, size_t capacity);
  // Loop thread. Whether entries are wanted at all (path is not "off").
  bool enabled() const;
  // Loop thread: swaps e into the ring (e gets an old buffer back). False, and
  // counted as dropped, when the ring is full.
  bool push(AccessLogEntry& e);
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  friend class AccessLog;
  // Writer thread: the oldest entry (read in place, no copy), or null when
  // empty; release() hands its slot back to the producer.
  const AccessLogEntry* front() const;
  void release();

  AccessLog& log_;
  std::vector<AccessLogEntry> slots_;
  size_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};  // next slot to fill (producer)
  alignas(64) std::atomic<uint64_t> tail_{0};  // next slot to read (consumer)
  std::atomic<uint64_t> dropped_{0};
};

class AccessLog {
 public:
  static constexpr size_t kDefaultRingCapacity = 4096;  // lines per worker

  explicit AccessLog(size_t ring_capacity = kDefaultRingCapacity);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Main thread, before the workers start: one ring per worker, then the
  // writer thread.
  void start(const conf::AccessLogConfig& cfg, unsigned rings);
  AccessLogRing& ring(unsigned i) { return *rings_[i]; }
  // Any thread (reload): a new path is opened by the writer; new redaction
  // names apply to the lines formatted from now on.
  void configure(const conf::AccessLogConfig& cfg);
  // Any thread (SIGUSR1): close and reopen the file at its path.
  void reopen();
  // Main thread, after the workers stopped: writes what is queued (for at
  // most `flush_ms`: a destination that does not take it loses it) and joins.
  void stop(int flush_ms = 2000);

  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // Any thread, for /metrics.
  uint64_t linesWritten() const { return written_.load(std::memory_order_relaxed); }
  uint64_t linesDropped() const;  // ring overflows plus lines the destination refused
  uint64_t writeErrors() const { return write_errors_.load(std::memory_order_relaxed); }
  uint64_t reopens() const { return reopens_.load(std::memory_order_relaxed); }
  // Prometheus text of the access log families.
  std::string renderMetrics() const;

 private:
  struct Settings {
    std::string path;  // stdout | off | file
    std::vector<std::string> redact;
  };
  void run();
  // Writer thread.
  void openDestination(const std::string& path);
  void closeDestination();
  bool writeBatch(const std::string& data, uint64_t lines, int64_t deadline_ms);

  size_t ring_capacity_;
  std::vector<std::unique_ptr<AccessLogRing>> rings_;
  std::atomic<bool> enabled_{false};

  std::mutex mu_;  // settings, flags, wake-ups (writer and control threads only)
  std::condition_variable cv_;
  std::shared_ptr<const Settings> settings_;
  bool reopen_ = false;
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
