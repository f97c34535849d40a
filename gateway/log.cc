#include "gateway/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace edge {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
const char* levelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}
}  // namespace

void setLogLevel(LogLevel level) {
  g_level.store(static_cast<int>(level));
}
bool logEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void logf(LogLevel level, const char* fmt, ...) {
  char line[2048];
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] ",
                   t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                   ts.tv_nsec / 1000000, levelName(level));
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  size_t len = n + (m < 0 ? 0 : std::min<size_t>(m, sizeof line - n - 2));
  line[len++] = '\n';
  // One write per line so lines of different threads never interleave.
  ssize_t w = ::write(STDERR_FILENO, line, len);
  (void)w;
}

}  // namespace edge
