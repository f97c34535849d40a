// edgegate-origin: a small, fast, scriptable HTTP/1.1 origin for the integration tests, the demo
// and the benchmarks. It sits on raw libevent (listener, events, evbuffers) with its own request
// parsing, not evhttp: tests must see exactly what a proxy sends (chunked uploads, connection
// reuse, pipelining) and the benchmark's "direct origin" baseline must not be the bottleneck.
// The command line and the endpoints: usage() below and bench/README.md.

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bench/origin/util.h"

namespace {

using namespace edge::origin;  // NOLINT: the helpers are this program's own

// Each libevent handle is owned by a unique_ptr whose deleter frees (and so unregisters) it.
template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using EventBasePtr = std::unique_ptr<event_base, Deleter<event_base_free>>;
using EventPtr = std::unique_ptr<event, Deleter<event_free>>;
using EvbufferPtr = std::unique_ptr<evbuffer, Deleter<evbuffer_free>>;
using ListenerPtr = std::unique_ptr<evconnlistener, Deleter<evconnlistener_free>>;

constexpr size_t kMaxHead = 64 * 1024;      // request line + headers; more -> 431
constexpr size_t kMaxLine = 4096;           // one chunk-size or trailer line
constexpr size_t kReadChunk = 16 * 1024;    // one recv(); up to 16 of them per wake-up
constexpr size_t kReadHigh = 1 << 20;       // stop reading a pipelining client that does not read
constexpr size_t kWriteLow = 64 * 1024;     // refill a streamed body below this
constexpr size_t kStreamHigh = 512 * 1024;  // ... up to this
constexpr size_t kOutHigh = 1 << 20;        // stop answering pipelined requests above this
constexpr size_t kBodyPrefix = 64;          // /echo shows this many first body bytes
constexpr int kRootBodySize = 1024;

// Streamed bodies are references to this block (no copy, no allocation); its size is a multiple
// of 26 so that byte k of any /bytes body is 'a' + k % 26, which tests can verify.
char gPattern[26 * 2520];

struct Stats {
  std::atomic<uint64_t> accepted{0}, requests{0}, open{0};
} gStats;

// Requests per path, for GET /count?path=P (cache tests count what reached the origin).
std::mutex gCountsMu;
std::unordered_map<string, uint64_t> gCounts;

struct Options {
  std::vector<string> listens;
  int threads = 1;
  string name = "origin";
} gOpts;

class Conn;

// One event loop and its listening sockets (SO_REUSEPORT). Connections live and die on it.
class Worker {
 public:
  Worker(int index) : index_(index), base_(event_base_new()) {
    reaper_.reset(event_new(base_.get(), -1, 0, &Worker::onReap, this));
  }
  ~Worker();
  void listen(int fd);
  void bury(Conn* c) {
    graveyard_.push_back(c);
    event_active(reaper_.get(), EV_TIMEOUT, 0);
  }
  // The Date line changes once a second; so do the prebuilt header block and the "/" response.
  void refreshDate() {
    timeval tv;
    event_base_gettimeofday_cached(base_.get(), &tv);
    if (tv.tv_sec == dateSec_) return;
    dateSec_ = tv.tv_sec;
    tm t;
    gmtime_r(&dateSec_, &t);
    char date[64];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &t);
    fixed_ =
        string("Server: edgegate-origin\r\nDate: ") + date + "\r\nX-Origin: " + gOpts.name + "\r\n";
    root_ = "HTTP/1.1 200 OK\r\n" + fixed_ +
            "Content-Type: text/plain\r\nContent-Length: " + std::to_string(kRootBodySize) +
            "\r\n\r\n" + string(gPattern, kRootBodySize);
  }
  event_base* base() const { return base_.get(); }

  int index_;
  string fixed_, root_, scratch_;

 private:
  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg);
  static void onReap(evutil_socket_t, short, void* arg);

  EventBasePtr base_;  // before the handles that need it: destroyed after them
  EventPtr reaper_;
  std::vector<ListenerPtr> listeners_;
  std::unordered_set<Conn*> conns_;
  std::vector<Conn*> graveyard_;
  time_t dateSec_ = -1;
};

// One client connection: parses requests one after another (pipelined ones wait in the input
// buffer), reads each body completely, then answers, possibly asynchronously (timers, streams).
class Conn {
 public:
  Conn(Worker& w, int fd, uint64_t id)
      : w_(w), fd_(fd), in_(evbuffer_new()), out_(evbuffer_new()), id_(id) {
    readEv_.reset(event_new(w.base(), fd, EV_READ | EV_PERSIST, &Conn::onReadableCb, this));
    writeEv_.reset(event_new(w.base(), fd, EV_WRITE | EV_PERSIST, &Conn::onWritableCb, this));
    event_add(readEv_.get(), nullptr);
    headers_.reserve(32);
  }
  ~Conn() {
    readEv_.reset();  // unregistered before the descriptor goes
    writeEv_.reset();
    timer_.reset();
    close(fd_);
  }

 private:
  enum class State { kHead, kBody, kRespond, kClosing, kLinger, kDead };
  enum class Body { kNone, kLength, kChunkSize, kChunkData, kChunkEnd, kTrailer };
  enum class Async { kNone, kStream, kDelay, kDrip, kDelaySet };

  // Every entry point ends with afterEvent(): what the event produced is written at once.
  static void onReadableCb(evutil_socket_t, short, void* arg) {
    static_cast<Conn*>(arg)->onReadable();
    static_cast<Conn*>(arg)->afterEvent();
  }
  static void onWritableCb(evutil_socket_t, short, void* arg) {
    static_cast<Conn*>(arg)->afterEvent();
  }
  static void onTimerCb(evutil_socket_t, short, void* arg) {
    static_cast<Conn*>(arg)->onTimer();
    static_cast<Conn*>(arg)->afterEvent();
  }

  evbuffer* in() const { return in_.get(); }
  evbuffer* out() const { return out_.get(); }
  int fd() const { return fd_; }

  // Plain recv() into the input buffer: bufferevent would add an ioctl(FIONREAD) per read and
  // two epoll_ctl per response (write interest on, off), which doubles this origin's cost.
  void onReadable() {
    for (int i = 0; i < 16; ++i) {
      evbuffer_iovec v;
      if (evbuffer_reserve_space(in(), kReadChunk, &v, 1) < 1) return destroy();
      ssize_t n = recv(fd_, v.iov_base, kReadChunk, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (n < 0) return destroy();
      if (n == 0) {
        peerEof_ = true;
        event_del(readEv_.get());  // level-triggered EOF would wake us forever
        break;
      }
      v.iov_len = n;
      evbuffer_commit_space(in(), &v, 1);
      if (static_cast<size_t>(n) < kReadChunk) break;
    }
    // Closing: what the client still sends is discarded so that close() sends FIN, not RST.
    if (state_ == State::kClosing || state_ == State::kLinger)
      evbuffer_drain(in(), evbuffer_get_length(in()));
    if (peerEof_ && state_ == State::kLinger) return destroy();
    // kRespond and kClosing finish writing first: a half-closed client still gets its answer.
    if (state_ == State::kHead || state_ == State::kBody) processInput();
  }

  void afterEvent() {
    flush();
    if (state_ == State::kDead || peerEof_) return;
    // Backpressure on a client that sends faster than it reads (pipelining).
    bool full = evbuffer_get_length(in()) >= kReadHigh;
    if (full == readPaused_) return;
    readPaused_ = full;
    full ? event_del(readEv_.get()) : event_add(readEv_.get(), nullptr);
  }

  // Writes what it can; write interest is registered only while the kernel pushes back.
  void flush() {
    while (state_ != State::kDead) {
      if (evbuffer_get_length(out()) > 0 && evbuffer_write(out(), fd_) < 0 && errno != EAGAIN &&
          errno != EINTR)
        return destroy();
      size_t left = evbuffer_get_length(out());
      if (left <= kWriteLow) {
        onDrained();
        if (state_ == State::kDead) return;
        if (evbuffer_get_length(out()) != left) continue;  // it produced more
      }
      if ((left > 0) != writePending_) {
        writePending_ = left > 0;
        writePending_ ? event_add(writeEv_.get(), nullptr) : event_del(writeEv_.get());
      }
      return;
    }
  }

  // The output is (nearly) empty: the stream, the pipelined requests or the closing go on.
  void onDrained() {
    if (state_ == State::kHead || state_ == State::kBody) processInput();
    if (state_ == State::kRespond && async_ == Async::kStream) fillStream();
    if (state_ == State::kClosing && evbuffer_get_length(out()) == 0) linger();
  }

  void onTimer() {
    if (state_ == State::kLinger) return destroy();
    if (async_ == Async::kDelay)
      return respond(200, "text/plain", "delayed " + std::to_string(delayMs_) + " ms\n");
    if (async_ == Async::kDelaySet) return setHeaders(setStatus_, false);
    if (async_ != Async::kDrip) return;
    body(gPattern + dripSent_ % 26, 1);
    if (++dripSent_ == dripTotal_) return endBody();
    armTimer(dripIntervalMs_);
  }

  void armTimer(uint64_t ms) {
    if (!timer_) timer_.reset(evtimer_new(w_.base(), &Conn::onTimerCb, this));
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
    evtimer_add(timer_.get(), &tv);
  }

  // Parses and answers every complete request in the input, in order. Re-entrant calls (a
  // synchronous answer finishing inside dispatch) return at once: the outer loop goes on.
  void processInput() {
    if (inProcess_) return;
    inProcess_ = true;
    while (state_ == State::kHead || state_ == State::kBody) {
      if (evbuffer_get_length(out()) > kOutHigh) break;  // onDrained resumes us
      if (state_ == State::kHead && !readHead()) break;
      if (state_ == State::kBody) {
        if (!readBody()) break;
        dispatch();
      }
    }
    inProcess_ = false;
    if (peerEof_ && (state_ == State::kHead || state_ == State::kBody)) closeWhenFlushed();
  }

  bool readHead() {
    size_t avail = evbuffer_get_length(in());
    if (avail == 0) return false;
    evbuffer_ptr end = evbuffer_search(in(), "\r\n\r\n", 4, nullptr);
    if (end.pos < 0 || static_cast<size_t>(end.pos) + 4 > kMaxHead) {
      if (avail > kMaxHead || end.pos >= 0) fail(431);
      return false;
    }
    size_t len = end.pos + 4;
    head_.resize(len);
    evbuffer_remove(in(), head_.data(), len);
    int status = parseHead();
    if (status != 0) {
      fail(status);
      return false;
    }
    state_ = State::kBody;
    return true;
  }

  // Fills the request fields from head_; returns 0 or the error status to answer.
  int parseHead() {
    string_view h(head_.data(), head_.size() - 2);
    size_t eol = h.find("\r\n");
    string_view line = h.substr(0, eol);
    h.remove_prefix(eol + 2);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == string_view::npos || sp2 == sp1) return 400;
    method_ = line.substr(0, sp1);
    target_ = line.substr(sp1 + 1, sp2 - sp1 - 1);
    string_view version = line.substr(sp2 + 1);
    if (method_.empty() || target_.empty() || target_.find(' ') != string_view::npos) return 400;
    if (!std::all_of(method_.begin(), method_.end(), isTokenChar)) return 400;
    if (version == "HTTP/1.1")
      http11_ = true;
    else if (version == "HTTP/1.0")
      http11_ = false;
    else
      return version.substr(0, 5) == "HTTP/" ? 505 : 400;

    headers_.clear();
    bool chunked = false, hasLength = false, hasTe = false, connClose = false, connKeep = false;
    uint64_t length = 0;
    expectContinue_ = false;
    while (!h.empty()) {
      eol = h.find("\r\n");
      line = h.substr(0, eol);
      h.remove_prefix(eol + 2);
      size_t colon = line.find(':');
      if (colon == 0 || colon == string_view::npos) return 400;
      string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
      if (!std::all_of(name.begin(), name.end(), isTokenChar)) return 400;  // incl. obs-fold
      headers_.emplace_back(name, value);
      if (iequals(name, "content-length")) {
        uint64_t n;
        if (!parseUint(value, n) || (hasLength && n != length)) return 400;
        hasLength = true;
        length = n;
      } else if (iequals(name, "transfer-encoding")) {
        hasTe = true;
        size_t comma = value.rfind(',');
        chunked =
            iequals(trim(comma == string_view::npos ? value : value.substr(comma + 1)), "chunked");
      } else if (iequals(name, "connection")) {
        connClose |= icontains(value, "close");
        connKeep |= icontains(value, "keep-alive");
      } else if (iequals(name, "expect")) {
        expectContinue_ = iequals(value, "100-continue");
      }
    }
    if (hasTe && (hasLength || !chunked)) return 400;  // ambiguous framing, or unknown coding
    closeAfter_ = http11_ ? connClose : !connKeep;

    // Routing looks at the path; an absolute-form target loses its scheme and authority.
    string_view t = target_;
    if (t.substr(0, 7) == "http://" || t.substr(0, 8) == "https://") {
      size_t slash = t.find('/', t.find("//") + 2);
      t = slash == string_view::npos ? string_view("/") : t.substr(slash);
    }
    size_t q = t.find('?');
    path_ = t.substr(0, q);
    query_ = q == string_view::npos ? string_view() : t.substr(q + 1);
    isHead_ = method_ == "HEAD";

    body_ = chunked ? Body::kChunkSize : (length > 0 ? Body::kLength : Body::kNone);
    bodyLeft_ = length;
    bodyBytes_ = 0;
    bodyPrefix_.clear();
    hashBody_ = path_ == "/echo" || path_.substr(0, 6) == "/echo/" ||
                (path_ == "/upload" && queryUint(query_, "sha256", 0) == 1);
    if (hashBody_) sha_ = Sha256();
    if (expectContinue_ && body_ != Body::kNone && http11_)
      evbuffer_add(out(), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
  }

  // Consumes body bytes as they come (hashing /echo bodies); true once the body is complete.
  bool readBody() {
    char line[kMaxLine + 1];
    for (;;) {
      switch (body_) {
        case Body::kNone:
          return true;
        case Body::kLength:
          consume();
          if (bodyLeft_ > 0) return false;
          body_ = Body::kNone;
          return true;
        case Body::kChunkSize: {
          int n = readLine(line);
          if (n < 0) return false;
          string_view size = trim(string_view(line, n).substr(0, string_view(line, n).find(';')));
          if (!parseUint(size, bodyLeft_, 16)) return fail(400), false;
          body_ = bodyLeft_ == 0 ? Body::kTrailer : Body::kChunkData;
          break;
        }
        case Body::kChunkData:
          consume();
          if (bodyLeft_ > 0) return false;
          body_ = Body::kChunkEnd;
          break;
        case Body::kChunkEnd: {
          if (evbuffer_get_length(in()) < 2) return false;
          char crlf[2];
          evbuffer_remove(in(), crlf, 2);
          if (crlf[0] != '\r' || crlf[1] != '\n') return fail(400), false;
          body_ = Body::kChunkSize;
          break;
        }
        case Body::kTrailer: {
          int n = readLine(line);
          if (n < 0) return false;
          if (n == 0) body_ = Body::kNone;
          break;
        }
      }
    }
  }

  // One CRLF-terminated line into buf (without the CRLF): its length, or -1 (need more / failed).
  int readLine(char* buf) {
    size_t eolLen = 0;
    evbuffer_ptr eol = evbuffer_search_eol(in(), nullptr, &eolLen, EVBUFFER_EOL_CRLF_STRICT);
    if (eol.pos < 0) {
      if (evbuffer_get_length(in()) > kMaxLine) fail(400);
      return -1;
    }
    if (static_cast<size_t>(eol.pos) > kMaxLine) return fail(400), -1;
    evbuffer_remove(in(), buf, eol.pos);
    evbuffer_drain(in(), eolLen);
    return static_cast<int>(eol.pos);
  }

  void consume() {
    size_t n = std::min<uint64_t>(bodyLeft_, evbuffer_get_length(in()));
    if (hashBody_ || bodyPrefix_.size() < kBodyPrefix) {
      evbuffer_iovec v[16];
      int cnt = std::min(evbuffer_peek(in(), n, nullptr, v, 16), 16);
      size_t seen = 0;
      for (int i = 0; i < cnt && seen < n; ++i) {
        size_t take = std::min(v[i].iov_len, n - seen);
        auto* p = static_cast<const uint8_t*>(v[i].iov_base);
        if (hashBody_) sha_.update(p, take);
        if (bodyPrefix_.size() < kBodyPrefix)
          bodyPrefix_.append(reinterpret_cast<const char*>(p),
                             std::min(take, kBodyPrefix - bodyPrefix_.size()));
        seen += take;
      }
      n = seen;  // more than 16 segments: the rest on the next call
    }
    evbuffer_drain(in(), n);
    bodyLeft_ -= n;
    bodyBytes_ += n;
    if (n > 0 && bodyLeft_ > 0 && evbuffer_get_length(in()) > 0) consume();
  }

  void dispatch() {
    gStats.requests.fetch_add(1, std::memory_order_relaxed);
    state_ = State::kRespond;
    string_view p = path_;
    uint64_t n = 0;
    if (p != "/" && p != "/count") {
      std::lock_guard<std::mutex> lock(gCountsMu);
      ++gCounts[string(p)];
    }
    if (p == "/count") return count();
    if (p == "/" && !isHead_ && !closeAfter_ && http11_) {
      w_.refreshDate();  // the benchmark target: one prebuilt buffer, one copy
      evbuffer_add(out(), w_.root_.data(), w_.root_.size());
      return done();
    }
    if (p == "/") return respond(200, "text/plain", string_view(gPattern, kRootBodySize));
    if (p == "/echo" || p.substr(0, 6) == "/echo/") return echo();
    if (p == "/upload")
      return respond(200, "application/json",
                     "{\"body_bytes\":" + std::to_string(bodyBytes_) +
                         (hashBody_ ? ",\"body_sha256\":\"" + sha_.hex() + "\"" : string()) +
                         "}\n");
    if (p == "/healthz") return respond(200, "text/plain", "ok\n");
    if (p == "/stats") return stats();
    if (p == "/chunked") {
      head(200, "text/plain", -1);
      for (int i = 1; i <= 4; ++i) body("chunk " + std::to_string(i) + " of 4\n");
      return endBody();
    }
    if (p.substr(0, 7) == "/bytes/" && parseUint(p.substr(7), n)) return startStream(n);
    if (p.substr(0, 7) == "/delay/" && parseUint(p.substr(7), n) && n <= 3600000) {
      async_ = Async::kDelay;
      delayMs_ = n;
      return armTimer(n);
    }
    if (p.substr(0, 8) == "/status/" && parseUint(p.substr(8), n) && n >= 200 && n <= 599)
      return setHeaders(static_cast<int>(n));
    if (p == "/set" || p.substr(0, 5) == "/set/") return setHeaders(200);
    if (p == "/drip") return startDrip();
    if (p == "/close") {  // no "Connection: close": the proxy must notice the close by itself
      silentClose_ = closeAfter_ = true;
      return respond(200, "text/plain", "closing\n");
    }
    if (p == "/reset") {  // RST instead of an answer
      const ::linger lg = {1, 0};
      setsockopt(fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      return destroy();
    }
    if (p == "/hangup") return destroy();  // FIN instead of an answer
    respond(404, "text/plain", "not found\n");
  }

  void echo() {
    nlohmann::ordered_json j;
    j["method"] = string(method_);
    j["target"] = string(target_);
    j["path"] = string(path_);
    j["query"] = string(query_);
    j["version"] = http11_ ? "HTTP/1.1" : "HTTP/1.0";
    auto& hs = j["headers"] = nlohmann::ordered_json::array();
    for (auto& [k, v] : headers_) hs.push_back({string(k), string(v)});
    j["body_bytes"] = bodyBytes_;
    j["body_sha256"] = sha_.hex();
    j["body_head"] = bodyPrefix_;
    j["connection_id"] = id_;
    j["peer"] = peer();
    j["server"] = gOpts.name;
    j["worker"] = w_.index_;
    respond(200, "application/json",
            j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }

  void stats() {
    nlohmann::ordered_json j = {{"connections_accepted", gStats.accepted.load()},
                                {"requests", gStats.requests.load()},
                                {"connections_open", gStats.open.load()},
                                {"server", gOpts.name}};
    respond(200, "application/json", j.dump() + "\n");
  }

  string peer() {
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?", port[16] = "0";
    if (getpeername(fd(), reinterpret_cast<sockaddr*>(&ss), &len) == 0)
      getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, port, sizeof port,
                  NI_NUMERICHOST | NI_NUMERICSERV);
    return ss.ss_family == AF_INET6 ? "[" + string(host) + "]:" + port : string(host) + ":" + port;
  }

  void count() {
    string path;
    for (auto& [k, v] : parseQuery(query_))
      if (k == "path") path = v;
    uint64_t n = 0;
    {
      std::lock_guard<std::mutex> lock(gCountsMu);
      auto it = gCounts.find(path);
      if (it != gCounts.end()) n = it->second;
    }
    respond(200, "application/json", "{\"requests\":" + std::to_string(n) + "}\n");
  }

  // /set, /set/ANYTHING and /status/N: every query parameter becomes a response header. A set
  // ETag or Last-Modified that the request's validators match turns the answer into a 304, so
  // that cache revalidation can be tested. Parameters starting with '_' are options instead:
  // _delay_ms=N answers after N ms, _bytes=N sends an N-byte body (the /bytes pattern).
  void setHeaders(int status, bool first = true) {
    if (first) {
      uint64_t delay = std::min<uint64_t>(queryUint(query_, "_delay_ms", 0), 3600000);
      if (delay > 0) {
        async_ = Async::kDelaySet;
        setStatus_ = status;
        return armTimer(delay);
      }
    }
    async_ = Async::kNone;
    string extra, etag, lastModified;
    bool hasType = false;
    uint64_t bytes = queryUint(query_, "_bytes", 0);
    for (auto& [k, v] : parseQuery(query_)) {
      if (!k.empty() && k[0] == '_') continue;
      if (k.empty() || !std::all_of(k.begin(), k.end(), isTokenChar) ||
          v.find_first_of("\r\n") != string::npos)
        return respond(400, "text/plain", "bad header in query\n");
      if (iequals(k, "content-length") || iequals(k, "transfer-encoding") ||
          iequals(k, "connection"))
        continue;  // framing stays ours, or the connection would be unusable
      hasType |= iequals(k, "content-type");
      if (iequals(k, "etag")) etag = v;
      if (iequals(k, "last-modified")) lastModified = v;
      extra += k + ": " + v + "\r\n";
    }
    if (status == 200 && (!etag.empty() || !lastModified.empty())) {
      for (auto& [k, v] : headers_) {
        if ((iequals(k, "if-none-match") && !etag.empty() &&
             (v == "*" || v.find(etag) != string_view::npos)) ||
            (iequals(k, "if-modified-since") && !lastModified.empty() && v == lastModified)) {
          status = 304;
          break;
        }
      }
    }
    if (status == 204 || status == 304) {
      head(status, {}, -2, extra);
      return endBody();
    }
    if (bytes > 0) {
      head(status, hasType ? string_view() : "application/octet-stream",
           static_cast<int64_t>(bytes), extra);
      if (noBody_) return endBody();
      async_ = Async::kStream;
      streamLeft_ = bytes;
      return fillStream();
    }
    respond(status, hasType ? string_view() : "text/plain",
            status == 200 ? string("ok\n") : "status " + std::to_string(status) + "\n", extra);
  }

  void startStream(uint64_t n) {
    bool chunked = queryUint(query_, "chunked", 0) == 1;
    head(200, "application/octet-stream", chunked ? -1 : static_cast<int64_t>(n));
    if (noBody_ || n == 0) return endBody();
    async_ = Async::kStream;
    streamLeft_ = n;
    fillStream();
  }

  // Called again from onDrained whenever the output is below kWriteLow: memory stays bounded.
  void fillStream() {
    while (streamLeft_ > 0 && evbuffer_get_length(out()) < kStreamHigh) {
      size_t n = std::min<uint64_t>(streamLeft_, sizeof gPattern);
      if (chunked_) evbuffer_add_printf(out(), "%zx\r\n", n);
      evbuffer_add_reference(out(), gPattern, n, nullptr, nullptr);
      if (chunked_) evbuffer_add(out(), "\r\n", 2);
      streamLeft_ -= n;
    }
    if (streamLeft_ == 0) endBody();
  }

  void startDrip() {
    dripTotal_ = queryUint(query_, "bytes", 10);
    dripIntervalMs_ = std::min<uint64_t>(queryUint(query_, "interval_ms", 100), 3600000);
    dripSent_ = 0;
    bool chunked = queryUint(query_, "chunked", 0) == 1;
    head(200, "text/plain", chunked ? -1 : static_cast<int64_t>(dripTotal_));
    if (noBody_ || dripTotal_ == 0) return endBody();
    async_ = Async::kDrip;
    armTimer(dripIntervalMs_);
  }

  // length >= 0: Content-Length; -1: chunked (close-delimited for HTTP/1.0); -2: no body (304).
  void head(int status, string_view type, int64_t length, string_view extra = {}) {
    w_.refreshDate();
    string& s = w_.scratch_;
    s.clear();
    s += "HTTP/1.1 ";
    s += std::to_string(status);
    s += ' ';
    s += reason(status);
    s += "\r\n";
    s += w_.fixed_;
    if (!type.empty()) s.append("Content-Type: ").append(type).append("\r\n");
    if (length >= 0) {
      s.append("Content-Length: ").append(std::to_string(length)).append("\r\n");
    } else if (length == -1 && http11_) {
      chunked_ = true;
      s += "Transfer-Encoding: chunked\r\n";
    } else if (length == -1) {
      closeAfter_ = true;
    }
    s += extra;
    if (closeAfter_ && !silentClose_) s += "Connection: close\r\n";
    if (!closeAfter_ && !http11_) s += "Connection: keep-alive\r\n";
    s += "\r\n";
    evbuffer_add(out(), s.data(), s.size());
    noBody_ = isHead_ || length == -2;
  }

  void body(string_view data) { body(data.data(), data.size()); }
  void body(const char* data, size_t n) {
    if (noBody_ || n == 0) return;
    if (chunked_) evbuffer_add_printf(out(), "%zx\r\n", n);
    evbuffer_add(out(), data, n);
    if (chunked_) evbuffer_add(out(), "\r\n", 2);
  }

  // Ends the response; the connection goes on with the next request or closes.
  void endBody() {
    if (chunked_ && !noBody_) evbuffer_add(out(), "0\r\n\r\n", 5);
    done();
  }

  void done() {
    chunked_ = noBody_ = silentClose_ = false;
    async_ = Async::kNone;
    state_ = State::kHead;
    if (closeAfter_ || peerEof_) closeWhenFlushed();
  }

  void respond(int status, string_view type, string_view text, string_view extra = {}) {
    head(status, type, static_cast<int64_t>(text.size()), extra);
    body(text);
    endBody();
  }

  void fail(int status) {
    closeAfter_ = true;
    isHead_ = false;
    respond(status, "text/plain", string(reason(status)) + "\n");
  }

  void closeWhenFlushed() {
    if (state_ == State::kDead || state_ == State::kLinger) return;
    state_ = State::kClosing;
    evbuffer_drain(in(), evbuffer_get_length(in()));
    if (evbuffer_get_length(out()) == 0) linger();
  }

  // Like nginx's lingering close: FIN first, then discard what the client still sends for a
  // while, so that our answer is not destroyed by an RST for unread data.
  void linger() {
    if (peerEof_) return destroy();
    state_ = State::kLinger;
    shutdown(fd(), SHUT_WR);
    armTimer(2000);
  }

  void destroy() {
    if (state_ == State::kDead) return;
    state_ = State::kDead;
    event_del(readEv_.get());
    event_del(writeEv_.get());
    if (timer_) evtimer_del(timer_.get());
    w_.bury(this);  // freed after this callback returns
  }

  Worker& w_;
  int fd_;
  EvbufferPtr in_, out_;
  EventPtr readEv_, writeEv_, timer_;
  uint64_t id_;
  State state_ = State::kHead;
  bool inProcess_ = false, peerEof_ = false, readPaused_ = false, writePending_ = false;

  // The request: views into head_, valid until the next request's head is read.
  string head_;
  string_view method_, target_, path_, query_;
  std::vector<std::pair<string_view, string_view>> headers_;
  bool http11_ = true, isHead_ = false, expectContinue_ = false;

  Body body_ = Body::kNone;
  uint64_t bodyLeft_ = 0, bodyBytes_ = 0;
  string bodyPrefix_;
  bool hashBody_ = false;
  Sha256 sha_;

  // The response.
  bool chunked_ = false, noBody_ = false, closeAfter_ = false, silentClose_ = false;
  Async async_ = Async::kNone;
  int setStatus_ = 200;
  uint64_t streamLeft_ = 0, delayMs_ = 0, dripTotal_ = 0, dripSent_ = 0, dripIntervalMs_ = 0;
};

Worker::~Worker() {
  onReap(-1, 0, this);
  for (Conn* c : conns_) delete c;
}

void Worker::listen(int fd) {
  listeners_.emplace_back(evconnlistener_new(base_.get(), &Worker::onAccept, this,
                                             LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd));
}

void Worker::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint64_t id = gStats.accepted.fetch_add(1, std::memory_order_relaxed) + 1;
  gStats.open.fetch_add(1, std::memory_order_relaxed);
  w->conns_.insert(new Conn(*w, fd, id));
}

void Worker::onReap(evutil_socket_t, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  std::vector<Conn*> dead;
  dead.swap(w->graveyard_);
  for (Conn* c : dead) {
    w->conns_.erase(c);
    delete c;
    gStats.open.fetch_sub(1, std::memory_order_relaxed);
  }
}

void usage() {
  fputs(
      "usage: edgegate-origin --listen HOST:PORT [--listen ...] [--threads N] [--name NAME]\n"
      "  PORT 0 picks a free port; one line 'listening HOST:PORT' is printed per listener.\n"
      "endpoints: /  /echo[/...]  /upload[?sha256=1]  /bytes/N[?chunked=1]  /delay/MS\n"
      "  /status/N[?Header=v]  /set?Header=v  /chunked  /drip?bytes=N&interval_ms=M[&chunked=1]\n"
      "  /close  /reset  /hangup  /stats  /healthz\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    string a = argv[i];
    bool hasValue = i + 1 < argc;
    if (a == "--listen" && hasValue) {
      gOpts.listens.push_back(argv[++i]);
    } else if (a == "--threads" && hasValue) {
      gOpts.threads = std::max(1, atoi(argv[++i]));
    } else if (a == "--name" && hasValue) {
      gOpts.name = argv[++i];
    } else {
      usage();
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (gOpts.listens.empty()) gOpts.listens.push_back("127.0.0.1:0");
  for (size_t i = 0; i < sizeof gPattern; ++i) gPattern[i] = static_cast<char>('a' + i % 26);
  signal(SIGPIPE, SIG_IGN);
  // Locks in every event_base cost a little on each request: only when loops talk across threads.
  if (gOpts.threads > 1) evthread_use_pthreads();

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < gOpts.threads; ++i) workers.push_back(std::make_unique<Worker>(i));
  for (const string& spec : gOpts.listens) {
    size_t colon = spec.rfind(':');
    if (colon == string::npos) return usage(), 2;
    string host = spec.substr(0, colon), port = spec.substr(colon + 1), actual;
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    // Port 0: the first socket picks the port, the other workers' sockets share it.
    for (auto& w : workers) {
      int fd = openListener(host, actual.empty() ? port : actual, gOpts.threads > 1, actual);
      if (fd < 0) return 1;
      w->listen(fd);
    }
    printf("listening %s:%s\n", spec.substr(0, colon).c_str(), actual.c_str());
  }
  fflush(stdout);

  auto onSignal = [](evutil_socket_t, short, void* arg) {
    for (auto& w : *static_cast<std::vector<std::unique_ptr<Worker>>*>(arg))
      event_base_loopexit(w->base(), nullptr);
  };
  EventPtr sigterm(evsignal_new(workers[0]->base(), SIGTERM, onSignal, &workers));
  EventPtr sigint(evsignal_new(workers[0]->base(), SIGINT, onSignal, &workers));
  evsignal_add(sigterm.get(), nullptr);
  evsignal_add(sigint.get(), nullptr);

  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers.size(); ++i)
    threads.emplace_back([w = workers[i].get()] { event_base_dispatch(w->base()); });
  event_base_dispatch(workers[0]->base());
  for (auto& t : threads) t.join();
  return 0;  // the signal events go before the workers' loops: declared after them
}
