#include "gateway/access_log.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "gateway/log.h"

namespace edge {
namespace {

int64_t monoMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The parameter name as a server would read it: percent-decoded, '+' as a
// space, lower case (so "%54oken" and "TOKEN" are redacted like "token").
void decodeName(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size() && hexValue(in[i + 1]) >= 0 && hexValue(in[i + 2]) >= 0) {
      c = static_cast<char>(hexValue(in[i + 1]) * 16 + hexValue(in[i + 2]));
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    out.push_back(lower(c));
  }
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// SPEC: Authorization, Cookie and Set-Cookie values never appear in a log
// line, even when a client (or a test origin's /set endpoint) carries them in
// the query string.
constexpr std::string_view kAlwaysRedacted[] = {"authorization", "cookie", "set-cookie"};

bool redacted(const std::string& name, const std::vector<std::string>& names) {
  for (auto n : kAlwaysRedacted)
    if (name == n) return true;
  for (const auto& n : names)
    if (iequal(name, n)) return true;
  return false;
}

// The line is formatted with a cursor into room reserved for the worst case
// (every string byte escaped as \u00XX), so no write checks capacity: the
// writer formats tens of thousands of lines a second.
constexpr size_t escapedBound(size_t n) {
  return 6 * n + 2;
}

char* putLiteral(char* o, std::string_view s) {
  memcpy(o, s.data(), s.size());
  return o + s.size();
}

char* putJsonByte(char* o, char ch) {
  static const char kHex[] = "0123456789abcdef";
  unsigned char c = static_cast<unsigned char>(ch);
  if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
    *o = ch;
    return o + 1;
  }
  if (c == '"' || c == '\\') {
    o[0] = '\\';
    o[1] = ch;
    return o + 2;
  }
  // Targets are ASCII on the wire; anything else is shown byte by byte so that
  // a line is always valid JSON (and one line).
  const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
  memcpy(o, esc, 6);
  return o + 6;
}

// Whether any of the 8 bytes in v needs an escape (below 0x20, 0x7f and up,
// '"' or '\\'), tested all at once: most strings need none and are copied 8
// bytes at a time.
[[gnu::always_inline]] inline bool wordNeedsEscape(uint64_t v) {
  constexpr uint64_t k01 = 0x0101010101010101ull, k80 = 0x8080808080808080ull;
  uint64_t q = v ^ (k01 * '"'), b = v ^ (k01 * '\\'), d = v ^ (k01 * 0x7f);
  uint64_t zero = ((q - k01) & ~q) | ((b - k01) & ~b) | ((d - k01) & ~d);
  uint64_t below20 = (v - k01 * 0x20) & ~v;
  return ((zero | below20 | v) & k80) != 0;
}

template <class T>
T load(const char* p) {
  T v;
  memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
void store(char* o, T v) {
  memcpy(o, &v, sizeof v);
}

char* putJsonString(char* o, std::string_view s) {
  *o++ = '"';
  const char* p = s.data();
  const char* end = p + s.size();
  for (; end - p >= 8; p += 8) {
    uint64_t v = load<uint64_t>(p);
    if (!wordNeedsEscape(v)) {
      store(o, v);
      o += 8;
    } else {
      for (int i = 0; i < 8; ++i) o = putJsonByte(o, p[i]);
    }
  }
  // A tail of 2 to 7 bytes is tested and copied as two overlapping fixed-size
  // pieces (padded with bytes that need no escape), not byte by byte.
  size_t rest = static_cast<size_t>(end - p);
  if (rest >= 4) {
    uint32_t lo = load<uint32_t>(p), hi = load<uint32_t>(end - 4);
    if (!wordNeedsEscape(lo | static_cast<uint64_t>(hi) << 32)) {
      store(o, lo);
      store(o + rest - 4, hi);
      o += rest;
      p = end;
    }
  } else if (rest >= 2) {
    uint16_t lo = load<uint16_t>(p), hi = load<uint16_t>(end - 2);
    if (!wordNeedsEscape(0x6161616100000000ull | static_cast<uint64_t>(hi) << 16 | lo)) {
      store(o, lo);
      store(o + rest - 2, hi);
      o += rest;
      p = end;
    }
  }
  for (; p < end; ++p) o = putJsonByte(o, *p);
  *o++ = '"';
  return o;
}

// A string or null; null when absent.
char* putOptional(char* o, bool present, std::string_view s) {
  return present ? putJsonString(o, s) : putLiteral(o, "null");
}

[[maybe_unused]] bool needsEscape(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') return true;
  }
  return false;
}

// A string the gateway has already restricted to bytes that need no escape
// (see AccessLogView::kPlain), or null: copied as it is, without a scan.
char* putPlain(char* o, bool present, std::string_view s) {
  if (!present) return putLiteral(o, "null");
  assert(!needsEscape(s));
  *o = '"';
  memcpy(o + 1, s.data(), s.size());
  o[s.size() + 1] = '"';
  return o + s.size() + 2;
}

char* putUint(char* o, uint64_t v) {
  return std::to_chars(o, o + 20, v).ptr;
}

// Milliseconds with three decimals: 52345 us -> "52.345".
char* putMillis(char* o, uint64_t us) {
  o = putUint(o, us / 1000);
  unsigned frac = static_cast<unsigned>(us % 1000);
  o[0] = '.';
  o[1] = static_cast<char>('0' + frac / 100);
  o[2] = static_cast<char>('0' + frac / 10 % 10);
  o[3] = static_cast<char>('0' + frac % 10);
  return o + 4;
}

}  // namespace

void redactTarget(std::string_view target, const std::vector<std::string>& names,
                  std::string& out) {
  size_t q = target.find('?');
  out.append(target.substr(0, q == std::string_view::npos ? target.size() : q + 1));
  if (q == std::string_view::npos) return;
  std::string name;
  std::string_view query = target.substr(q + 1);
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view part =
        query.substr(pos, amp == std::string_view::npos ? query.npos : amp - pos);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos) {
      decodeName(part.substr(0, eq), name);
      if (redacted(name, names)) {
        out.append(part.substr(0, eq + 1)).append("REDACTED");
      } else {
        out.append(part);
      }
    } else {
      out.append(part);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    pos = amp + 1;
  }
}

void AccessLogLine::reserve(size_t n) {
  // The buffer only grows (and is never shrunk by clear()), so after the
  // first requests this zero-fills nothing.
  if (buf.size() < n) buf.resize(n);
}

void formatAccessLogBody(const AccessLogView& v, const std::vector<std::string>& redact,
                         AccessLogLine& out) {
  using S = AccessLogView;
  thread_local std::string path;
  std::string_view target = v.str[S::kTarget];
  // Only a query has values to redact.
  if (v.present[S::kTarget] && target.find('?') != std::string_view::npos) {
    path.clear();
    redactTarget(target, redact, path);
    target = path;
  }
  const char* cache = v.cache ? v.cache : "";
  const char* ratelimit = v.ratelimit ? v.ratelimit : "";
  const char* protocol = v.protocol ? v.protocol : "";
  // Keys and numbers take under 400 bytes; every string at most 6 bytes per
  // byte. The room is reserved once, so no write below checks capacity.
  const size_t cache_len = strlen(cache), ratelimit_len = strlen(ratelimit),
               protocol_len = strlen(protocol);
  size_t plain = cache_len + ratelimit_len + protocol_len, escaped = target.size();
  for (size_t i = 0; i < S::kStrCount; ++i) (S::kPlain[i] ? plain : escaped) += v.str[i].size();
  out.reserve(512 + plain + escapedBound(escaped));
  char* const start = out.buf.data();
  char* o = start;
  const auto& f = v.str;
  o = putLiteral(o, "Z\",\"request_id\":");
  o = putPlain(o, v.present[S::kRequestId], f[S::kRequestId]);
  o = putLiteral(o, ",\"client_ip\":");
  o = putPlain(o, v.present[S::kClientIp], f[S::kClientIp]);
  o = putLiteral(o, ",\"method\":");
  o = putPlain(o, v.present[S::kMethod], f[S::kMethod]);
  o = putLiteral(o, ",\"host\":");
  o = putPlain(o, v.present[S::kHost], f[S::kHost]);
  o = putLiteral(o, ",\"path\":");
  o = putOptional(o, v.present[S::kTarget], target);
  o = putLiteral(o, ",\"status\":");
  if (v.status >= 100 && v.status <= 999) {  // every status but "none" (0): three digits
    o[0] = static_cast<char>('0' + v.status / 100);
    o[1] = static_cast<char>('0' + v.status / 10 % 10);
    o[2] = static_cast<char>('0' + v.status % 10);
    o += 3;
  } else {
    o = putUint(o, v.status);
  }
  o = putLiteral(o, ",\"bytes\":");
  o = putUint(o, v.bytes);
  o = putLiteral(o, ",\"duration_ms\":");
  out.split = static_cast<size_t>(o - start);
  o = putLiteral(o, ",\"site\":");
  o = putOptional(o, v.present[S::kSite], f[S::kSite]);
  o = putLiteral(o, ",\"route\":");
  o = putOptional(o, v.present[S::kRoute], f[S::kRoute]);
  o = putLiteral(o, ",\"upstream\":");
  o = putOptional(o, v.present[S::kUpstream], f[S::kUpstream]);
  o = putLiteral(o, ",\"upstream_ms\":");
  o = v.upstream_us >= 0 ? putMillis(o, static_cast<uint64_t>(v.upstream_us))
                         : putLiteral(o, "null");
  o = putLiteral(o, ",\"cache\":");
  o = putPlain(o, v.cache != nullptr, {cache, cache_len});
  o = putLiteral(o, ",\"ratelimit\":");
  o = putPlain(o, v.ratelimit != nullptr, {ratelimit, ratelimit_len});
  o = putLiteral(o, ",\"protocol\":");
  o = putPlain(o, v.protocol != nullptr, {protocol, protocol_len});
  o = putLiteral(o, "}\n");
  out.len = static_cast<size_t>(o - start);
}

namespace {

// The bytes finishAccessLogLine adds to a body: the date and the duration.
constexpr size_t kTimeFieldsBound = 64;

// Writes the whole line of `body` at o (room for body.len + kTimeFieldsBound
// bytes); returns its end.
char* finishLine(const AccessLogLine& body, int64_t ts_us, uint64_t duration_us, char* o) {
  // The date part is computed once per second (per thread).
  thread_local int64_t cached_sec = -1;
  thread_local char date[64];  // "YYYY-MM-DDTHH:MM:SS."
  int64_t sec = ts_us / 1000000;
  if (sec != cached_sec) {
    time_t secs = static_cast<time_t>(sec);
    tm t;
    gmtime_r(&secs, &t);
    snprintf(date, sizeof date, "%04d-%02d-%02dT%02d:%02d:%02d.", t.tm_year + 1900, t.tm_mon + 1,
             t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
    cached_sec = sec;
  }
  int ms = static_cast<int>((ts_us / 1000) % 1000);
  o = putLiteral(o, "{\"ts\":\"");
  o = putLiteral(o, std::string_view(date, 20));
  o[0] = static_cast<char>('0' + ms / 100);
  o[1] = static_cast<char>('0' + ms / 10 % 10);
  o[2] = static_cast<char>('0' + ms % 10);
  o += 3;
  o = putLiteral(o, std::string_view(body.buf.data(), body.split));
  o = putMillis(o, duration_us);
  return putLiteral(o, std::string_view(body.buf.data() + body.split, body.len - body.split));
}

}  // namespace

void formatAccessLogLine(const AccessLogView& v, const std::vector<std::string>& redact,
                         std::string& out) {
  AccessLogLine body;
  formatAccessLogBody(v, redact, body);
  size_t start = out.size();
  out.resize(start + body.len + kTimeFieldsBound);
  char* end = finishLine(body, v.ts_us, v.duration_us, out.data() + start);
  out.resize(static_cast<size_t>(end - out.data()));
}

// ---------------------------------------------------------------------------- lane

AccessLogLane::AccessLogLane(AccessLog& log, size_t buffer_bytes, size_t max_buffers)
    : log_(log), buffer_bytes_(buffer_bytes), max_buffers_(std::max<size_t>(max_buffers, 1)) {}

bool AccessLogLane::append(const AccessLogLine& body, int64_t ts_us, uint64_t duration_us,
                           bool* started) {
  if (!makeRoom(body.len + kTimeFieldsBound)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (started) *started = cur_.lines == 0;
  char* end = finishLine(body, ts_us, duration_us, cur_.data.get() + cur_.size);
  cur_.size = static_cast<size_t>(end - cur_.data.get());
  ++cur_.lines;
  return true;
}

bool AccessLogLane::makeRoom(size_t bytes) {
  if (cur_.capacity - cur_.size >= bytes) return true;
  if (cur_.lines > 0) moveToFull(false);
  if (!cur_.data) {
    bool allocate = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        cur_ = std::move(free_.back());
        free_.pop_back();
      } else if (buffers_ < max_buffers_) {
        ++buffers_;
        allocate = true;
      }
    }
    if (!cur_.data && !allocate) return false;
    if (allocate) {
      cur_.data.reset(new char[buffer_bytes_]);
      cur_.capacity = buffer_bytes_;
    }
  }
  // A line longer than a buffer (a target of tens of kilobytes) gets one of
  // its own size; giveBack() does not keep it.
  if (cur_.capacity < bytes) {
    cur_.data.reset(new char[bytes]);
    cur_.capacity = bytes;
  }
  return true;
}

void AccessLogLane::handOff() {
  if (cur_.lines > 0) moveToFull(true);
}

void AccessLogLane::moveToFull(bool wake) {
  size_t queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    full_.push_back(std::move(cur_));
    queued = full_.size();
  }
  cur_ = Buffer{};
  // A busy worker fills a buffer every few milliseconds: the writer, which
  // looks every kWriterPollMs while lines come, is woken only when a quarter
  // of the lane waits (a wake-up per buffer costs more than the write).
  if (wake || queued >= std::max<size_t>(1, max_buffers_ / 4)) log_.wake();
}

void AccessLogLane::takeFull(std::vector<Buffer>& out) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Buffer& b : full_) out.push_back(std::move(b));
  full_.clear();
}

void AccessLogLane::takeCurrent(std::vector<Buffer>& out) {
  takeFull(out);
  if (cur_.lines > 0) out.push_back(std::move(cur_));
  cur_ = Buffer{};
}

void AccessLogLane::giveBack(std::vector<Buffer>& done) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Buffer& b : done) {
    if (b.capacity != buffer_bytes_) {
      --buffers_;  // an oversized one is not kept
      continue;
    }
    b.size = 0;
    b.lines = 0;
    free_.push_back(std::move(b));
  }
  done.clear();
}

// ---------------------------------------------------------------------------- writer

AccessLog::AccessLog(size_t buffer_bytes, size_t max_buffers)
    : buffer_bytes_(buffer_bytes), max_buffers_(max_buffers) {}

AccessLog::~AccessLog() {
  stop(0);
}

void AccessLog::start(const conf::AccessLogConfig& cfg, unsigned lanes) {
  for (unsigned i = 0; i < lanes; ++i)
    lanes_.push_back(std::make_unique<AccessLogLane>(*this, buffer_bytes_, max_buffers_));
  configure(cfg);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "edgegate-alog");  // visible in top -H
    run();
  });
}

void AccessLog::configure(const conf::AccessLogConfig& cfg) {
  auto s = std::make_shared<Settings>();
  s->path = cfg.path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    settings_ = std::move(s);
  }
  enabled_.store(cfg.path != "off", std::memory_order_relaxed);
  cv_.notify_all();
}

void AccessLog::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void AccessLog::reopen() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reopen_ = true;
  }
  cv_.notify_all();
}

void AccessLog::stop(int flush_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
    stop_deadline_ms_ = monoMs() + flush_ms;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t AccessLog::linesDropped() const {
  uint64_t n = lost_.load(std::memory_order_relaxed);
  for (const auto& l : lanes_) n += l->dropped();
  return n;
}

void AccessLog::closeDestination() {
  if (fd_ >= 0 && owns_fd_) ::close(fd_);
  fd_ = -1;
  owns_fd_ = false;
}

void AccessLog::openDestination(const std::string& path) {
  closeDestination();
  open_path_ = path;
  if (path == "off") return;
  if (path == "stdout") {
    fd_ = STDOUT_FILENO;
    return;
  }
  // Non-blocking: a FIFO with no reader fails at once (ENXIO) instead of
  // hanging this thread, and one whose reader stalls answers EAGAIN, which
  // run() waits out with poll() while it can still see stop and reopen.
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0) {
    if (next_open_try_ms_ == 0)
      LOG_ERROR("access log %s: cannot open: %s (lines are dropped until it can be opened)",
                path.c_str(), strerror(errno));
    next_open_try_ms_ = monoMs() + 1000;
    return;
  }
  if (next_open_try_ms_ != 0) LOG_INFO("access log %s: opened", path.c_str());
  next_open_try_ms_ = 0;
  fd_ = fd;
  owns_fd_ = true;
}

bool AccessLog::writeBatch(const char* data, size_t size, uint64_t lines, int64_t deadline_ms) {
  size_t off = 0;
  while (off < size) {
    if (fd_ < 0) break;
    ssize_t n = ::write(fd_, data + off, size - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The destination stalls: wait, but keep noticing stop and reopen.
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (reopen_) break;
        if (stop_ && deadline_ms == 0) deadline_ms = stop_deadline_ms_;
      }
      int64_t now = monoMs();
      if (deadline_ms && now >= deadline_ms) break;
      pollfd p{fd_, POLLOUT, 0};
      int wait = deadline_ms ? static_cast<int>(std::min<int64_t>(100, deadline_ms - now)) : 100;
      ::poll(&p, 1, wait);
      continue;
    }
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    LOG_ERROR("access log %s: write failed: %s (reopening)", open_path_.c_str(),
              n < 0 ? strerror(errno) : "wrote nothing");
    closeDestination();
    next_open_try_ms_ = monoMs() + 1000;
    break;
  }
  if (off == size) {
    written_.fetch_add(lines, std::memory_order_relaxed);
    return true;
  }
  // Lines not (fully) written are counted as dropped.
  lost_.fetch_add(lines, std::memory_order_relaxed);
  return false;
}

void AccessLog::writeBuffers(std::vector<AccessLogLane::Buffer>& buffers, const std::string& path,
                             int64_t deadline_ms) {
  for (const AccessLogLane::Buffer& b : buffers) {
    // Lines queued just before a switch to off are not written.
    if (path == "off") continue;
    if (fd_ >= 0)
      writeBatch(b.data.get(), b.size, b.lines, deadline_ms);
    else
      lost_.fetch_add(b.lines, std::memory_order_relaxed);
  }
}

void AccessLog::run() {
  std::shared_ptr<const Settings> settings;
  std::vector<AccessLogLane::Buffer> buffers;
  for (;;) {
    bool reopen = false, stopping = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      settings = settings_;
      reopen = reopen_;
      reopen_ = false;
      wake_ = false;
      stopping = stop_;
    }
    int64_t deadline = stopping ? stop_deadline_ms_ : 0;
    if (reopen || open_path_ != settings->path) {
      if (reopen && settings->path != "off" && settings->path != "stdout") {
        reopens_.fetch_add(1, std::memory_order_relaxed);
        LOG_INFO("access log %s: reopening", settings->path.c_str());
      }
      openDestination(settings->path);
    } else if (fd_ < 0 && settings->path != "off" && monoMs() >= next_open_try_ms_) {
      openDestination(settings->path);
    }
    // One lane at a time: its buffers go back to it as soon as they are
    // written. Once stopping, the workers are gone and their unfinished
    // buffers are written too.
    bool wrote = false;
    for (auto& lane : lanes_) {
      if (stopping)
        lane->takeCurrent(buffers);
      else
        lane->takeFull(buffers);
      wrote = wrote || !buffers.empty();
      writeBuffers(buffers, settings->path, deadline);
      lane->giveBack(buffers);
    }
    if (stopping) break;
    // While lines come the writer looks every kWriterPollMs; a quiet one
    // sleeps until a worker's flush timer or a backlog wakes it (the timeout
    // also retries a file that could not be opened).
    std::unique_lock<std::mutex> lock(mu_);
    if (settings->path == "off") {
      cv_.wait(lock, [&] { return stop_ || reopen_ || wake_ || settings_ != settings; });
    } else {
      cv_.wait_for(lock, std::chrono::milliseconds(wrote ? kWriterPollMs : 1000),
                   [this] { return stop_ || reopen_ || wake_; });
    }
  }
  closeDestination();
}

std::string AccessLog::renderMetrics() const {
  using prometheus::ClientMetric;
  using prometheus::MetricFamily;
  using prometheus::MetricType;
  auto counter = [](const char* name, const char* help, uint64_t v) {
    MetricFamily f{name, help, MetricType::Counter, {}};
    ClientMetric m;
    m.counter.value = static_cast<double>(v);
    f.metric.push_back(m);
    return f;
  };
  std::vector<MetricFamily> families;
  families.push_back(
      counter("edgegate_access_log_lines_total", "Access log lines written", linesWritten()));
  families.push_back(counter("edgegate_access_log_dropped_total",
                             "Access log lines dropped: a worker's queue was full (the "
                             "destination stalled) or the destination refused them",
                             linesDropped()));
  families.push_back(counter("edgegate_access_log_write_errors_total",
                             "Failed writes to the access log destination", writeErrors()));
  families.push_back(
      counter("edgegate_access_log_reopens_total", "Access log reopens (SIGUSR1)", reopens()));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace edge
