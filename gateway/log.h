#pragma once
// Error log: one line per event on stderr, safe from any thread (one write(2)
// per line). The access log is separate (issue: observability).
#include <cstdarg>

namespace edge {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void setLogLevel(LogLevel level);
bool logEnabled(LogLevel level);
void logf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define EDGE_LOG(level, ...)                                         \
  do {                                                               \
    if (::edge::logEnabled(level)) ::edge::logf(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) EDGE_LOG(::edge::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) EDGE_LOG(::edge::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) EDGE_LOG(::edge::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) EDGE_LOG(::edge::LogLevel::kError, __VA_ARGS__)

}  // namespace edge
