#include "gateway/access_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace edge {
namespace {

const std::vector<std::string> kDefault{"token", "password", "code", "secret", "key", "signature"};

std::string redact(std::string_view target, const std::vector<std::string>& names = kDefault) {
  std::string out;
  redactTarget(target, names, out);
  return out;
}

TEST(RedactTarget, ReplacesListedValuesAndKeepsTheRest) {
  EXPECT_EQ(redact("/a?token=abc&x=1&password=pw"), "/a?token=REDACTED&x=1&password=REDACTED");
  EXPECT_EQ(redact("/a"), "/a");
  EXPECT_EQ(redact("/a?"), "/a?");
  EXPECT_EQ(redact("/a?x=1&y"), "/a?x=1&y");
  EXPECT_EQ(redact("/a?token="), "/a?token=REDACTED");
  EXPECT_EQ(redact("/a?token"), "/a?token");  // no value to hide
  EXPECT_EQ(redact("/a?tokens=1&mytoken=2"), "/a?tokens=1&mytoken=2");
  EXPECT_EQ(redact("/a?&&token=s&&"), "/a?&&token=REDACTED&&");
}

TEST(RedactTarget, NamesMatchWithoutCaseAndAfterPercentDecoding) {
  EXPECT_EQ(redact("/?TOKEN=abc"), "/?TOKEN=REDACTED");
  EXPECT_EQ(redact("/?%74oken=abc"), "/?%74oken=REDACTED");
  EXPECT_EQ(redact("/?%54OKEN=abc"), "/?%54OKEN=REDACTED");
  EXPECT_EQ(redact("/?to%6Ben=abc&%zz=1&%=2"), "/?to%6Ben=REDACTED&%zz=1&%=2");
}

TEST(RedactTarget, CredentialHeaderNamesAreAlwaysRedacted) {
  EXPECT_EQ(redact("/set?Set-Cookie=sid%3D1&Cookie=a&authorization=b", {}),
            "/set?Set-Cookie=REDACTED&Cookie=REDACTED&authorization=REDACTED");
}

TEST(RedactTarget, ConfiguredNamesReplaceTheDefaults) {
  EXPECT_EQ(redact("/?token=1&sig=2", {"sig"}), "/?token=1&sig=REDACTED");
}

// Views of string literals: they outlive every use.
AccessLogView sampleEntry() {
  AccessLogView e;
  e.ts_us = 1764374400123456;  // 2025-11-29T00:00:00.123Z
  e.duration_us = 52345;
  e.upstream_us = 50001;
  e.bytes = 1024;
  e.status = 200;
  e.ratelimit = "allowed";
  e.protocol = "HTTP/2";
  e.set(AccessLogView::kRequestId, "rid-1");
  e.set(AccessLogView::kClientIp, "127.0.0.1");
  e.set(AccessLogView::kMethod, "GET");
  e.set(AccessLogView::kHost, "example.com");
  e.set(AccessLogView::kTarget, "/p\"a\\th\x01?token=secret-value&q=1");
  e.set(AccessLogView::kSite, "main");
  e.set(AccessLogView::kRoute, "default");
  return e;
}

TEST(AccessLogLine, IsOneJsonObjectWithEveryField) {
  std::string line;
  formatAccessLogLine(sampleEntry(), kDefault, line);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2025-11-29T00:00:00.123Z");
  EXPECT_EQ(j["request_id"], "rid-1");
  EXPECT_EQ(j["client_ip"], "127.0.0.1");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["host"], "example.com");
  EXPECT_EQ(j["path"], "/p\"a\\th\x01?token=REDACTED&q=1");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["bytes"], 1024);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 52.345);
  EXPECT_DOUBLE_EQ(j["upstream_ms"].get<double>(), 50.001);
  EXPECT_EQ(j["site"], "main");
  EXPECT_EQ(j["route"], "default");
  EXPECT_TRUE(j["upstream"].is_null());
  EXPECT_TRUE(j["cache"].is_null());
  EXPECT_EQ(j["ratelimit"], "allowed");
  EXPECT_EQ(j["protocol"], "HTTP/2");
  EXPECT_EQ(line.find("secret-value"), std::string::npos);
}

TEST(AccessLogLine, AbsentFieldsAreNull) {
  AccessLogView e;
  e.status = 400;
  e.set(AccessLogView::kRequestId, "r");
  std::string line;
  formatAccessLogLine(e, kDefault, line);
  auto j = nlohmann::json::parse(line);
  for (const char* f :
       {"method", "host", "path", "site", "route", "upstream", "upstream_ms", "protocol"})
    EXPECT_TRUE(j[f].is_null()) << f;
  EXPECT_EQ(j["status"], 400);
}

// Strings are scanned 8 bytes at a time and their tail in fixed-size pieces:
// every byte value, at every position within a word and within a tail of
// every length, comes out as valid JSON that decodes to that byte (bytes from
// 0x80 as the code point U+00XX).
TEST(AccessLogLine, EscapesEveryByteAtEveryPosition) {
  for (int b = 0; b < 256; ++b) {
    for (size_t before = 0; before < 16; ++before) {
      for (size_t after = 0; after < 8; ++after) {
        std::string head = "/" + std::string(before, 'a'), tail(after, 'z');
        std::string target = head + static_cast<char>(b) + tail;
        AccessLogView e;
        e.set(AccessLogView::kTarget, target);
        std::string line;
        formatAccessLogLine(e, kDefault, line);
        ASSERT_EQ(line.find('\n'), line.size() - 1) << b;
        nlohmann::json j;
        ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << b << " " << line;
        std::string want = target;
        if (b >= 0x80) {
          want = head + static_cast<char>(0xc0 | (b >> 6)) + static_cast<char>(0x80 | (b & 0x3f)) +
                 tail;
        }
        ASSERT_EQ(j["path"].get<std::string>(), want) << b << " " << before << " " << after;
      }
    }
  }
}

// Starts `log` writing to `path` with `lanes` lanes (one per worker).
void startLog(AccessLog& log, const std::string& path, unsigned lanes) {
  conf::AccessLogConfig cfg;
  cfg.path = path;
  log.start(cfg, lanes);
}

// What the worker does: the body when the exchange ends, the line when its
// last byte is written.
bool appendEntry(AccessLogLane& lane, const AccessLogView& e, bool* started = nullptr) {
  AccessLogLine body;
  formatAccessLogBody(e, kDefault, body);
  return lane.append(body, e.ts_us, e.duration_us, started);
}

// A file name in a directory of its own, which goes with everything in it when
// the test ends: a test run leaves nothing behind in /tmp. Declared before the
// AccessLog that writes to it, so the log is stopped and closed first.
class TempFile {
 public:
  explicit TempFile(const char* name) {
    char dir[] = "/tmp/edgegate-alog-XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/" + name;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

template <class F>
bool eventually(F f, int ms = 5000) {
  for (int i = 0; i < ms / 10; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

TEST(AccessLogLane, FormatsTheSameLineAsFormatAccessLogLine) {
  TempFile path_file("lane.log");
  const std::string& path = path_file.path();
  AccessLog log;
  startLog(log, path, 1);
  AccessLogView e = sampleEntry();
  bool started = false;
  ASSERT_TRUE(appendEntry(log.lane(0), e, &started));
  EXPECT_TRUE(started);  // the first line of a buffer: the worker arms its flush timer
  ASSERT_TRUE(appendEntry(log.lane(0), e, &started));
  EXPECT_FALSE(started);
  log.lane(0).handOff();
  ASSERT_TRUE(eventually([&] { return log.linesWritten() == 2; }));
  log.stop();
  std::string line;
  formatAccessLogLine(e, kDefault, line);
  EXPECT_EQ(slurp(path), line + line);
}

TEST(AccessLogLane, DropsAndCountsWhenFullNeverBlocks) {
  AccessLog log(4096, 2);
  // No writer thread (start() is not called): nothing takes the buffers.
  AccessLogLane lane(log, 4096, 2);
  AccessLogView e = sampleEntry();
  int appended = 0;
  for (int i = 0; i < 100; ++i) appended += appendEntry(lane, e) ? 1 : 0;
  // Two buffers of 4 KiB hold what fits of them, then every line is refused.
  std::string line;
  formatAccessLogLine(e, kDefault, line);
  EXPECT_GT(appended, 2);
  EXPECT_LE(appended * line.size(), 2u * 4096);
  EXPECT_EQ(lane.dropped(), static_cast<uint64_t>(100 - appended));
}

TEST(AccessLogLane, ALineLongerThanABufferGetsOneOfItsOwn) {
  TempFile path_file("long.log");
  const std::string& path = path_file.path();
  AccessLog log(4096, 2);
  startLog(log, path, 1);
  const std::string target = "/" + std::string(20000, 'a');
  AccessLogView e;
  e.set(AccessLogView::kTarget, target);
  ASSERT_TRUE(appendEntry(log.lane(0), e));
  ASSERT_TRUE(appendEntry(log.lane(0), sampleEntry()));
  log.stop();
  EXPECT_EQ(log.linesWritten(), 2u);
  EXPECT_EQ(log.linesDropped(), 0u);
  std::string text = slurp(path);
  EXPECT_NE(text.find(std::string(20000, 'a')), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
}

TEST(AccessLog, WritesLinesAndReopensAfterRename) {
  TempFile path_file("access.log");
  const std::string& path = path_file.path();
  AccessLog log;
  startLog(log, path, 2);
  ASSERT_TRUE(log.enabled());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(appendEntry(log.lane(i % 2), sampleEntry()));
  log.lane(0).handOff();
  log.lane(1).handOff();
  ASSERT_TRUE(eventually([&] { return log.linesWritten() == 10; }));
  ASSERT_EQ(rename(path.c_str(), (path + ".1").c_str()), 0);
  log.reopen();
  ASSERT_TRUE(eventually([&] { return log.reopens() == 1; }));
  // Still in its worker's buffer at stop(): written then.
  ASSERT_TRUE(appendEntry(log.lane(0), sampleEntry()));
  log.stop();
  EXPECT_EQ(log.linesWritten(), 11u);
  EXPECT_EQ(log.linesDropped(), 0u);
  std::string old = slurp(path + ".1"), now = slurp(path);
  EXPECT_EQ(std::count(old.begin(), old.end(), '\n'), 10);
  EXPECT_EQ(std::count(now.begin(), now.end(), '\n'), 1);
}

TEST(AccessLog, StalledReaderCostsPushesNothingButDroppedLines) {
  TempFile fifo_file("access.fifo");
  const std::string& fifo = fifo_file.path();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // A reader that holds the FIFO open and never reads: the pipe fills, the
  // writer waits, the lane's buffers fill, lines are refused.
  int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  AccessLog log(8192, 4);
  startLog(log, fifo, 1);
  auto t0 = std::chrono::steady_clock::now();
  int refused = 0;
  AccessLogView e = sampleEntry();
  for (int i = 0; i < 20000; ++i)
    if (!appendEntry(log.lane(0), e)) ++refused;
  auto spent = std::chrono::steady_clock::now() - t0;
  EXPECT_GT(refused, 0);
  EXPECT_EQ(log.linesDropped(), static_cast<uint64_t>(refused));
  // 20000 lines without waiting on the writer: well under a second even under ASan.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(spent).count(), 1000);
  // Reading unblocks the writer; lines flow again.
  uint64_t before = log.linesWritten();
  char buf[65536];
  EXPECT_TRUE(eventually([&] {
    while (read(reader, buf, sizeof buf) > 0) {
    }
    log.lane(0).handOff();
    return log.linesWritten() > before;
  }));
  // stop() gives up on a destination that stalls again instead of hanging.
  for (int i = 0; i < 5000; ++i) appendEntry(log.lane(0), e);
  auto s0 = std::chrono::steady_clock::now();
  log.stop(300);
  EXPECT_LT(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - s0)
          .count(),
      3000);
  close(reader);
}

TEST(AccessLog, FifoWithoutReaderDropsAndCounts) {
  TempFile fifo_file("noreader.fifo");
  const std::string& fifo = fifo_file.path();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  AccessLog log;
  startLog(log, fifo, 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(appendEntry(log.lane(0), sampleEntry()));
  log.lane(0).handOff();
  EXPECT_TRUE(eventually([&] { return log.linesDropped() == 5; }));
  EXPECT_EQ(log.linesWritten(), 0u);
  log.stop();
}

}  // namespace
}  // namespace edge
