#pragma once
// What a finished exchange leaves behind for the metrics and the access log.
// The exchange fills it when its response is complete; the client codec keeps
// it until the last byte of that response has been handed to the socket, and
// then Worker::completeRequest counts it, times it (first request byte to last
// response byte written) and queues the access log entry.
#include <cstdint>
#include <string_view>

#include "gateway/access_log.h"
#include "gateway/metrics.h"

namespace edge {

class Exchange;
class Worker;
struct ClientInfo;

struct RequestRecord {
  WorkerMetrics::RouteStats* stats = nullptr;
  uint64_t start_us = 0;  // monotonic µs of the request's first byte
  uint16_t status = 0;
  uint8_t method = 0;   // methodIndex()
  bool logged = false;  // line is formatted (the access log is on)
  AccessLogLine line;
};

// Loop thread: fills r from a finished (or aborted) exchange.
void buildRequestRecord(RequestRecord& r, Exchange& ex);
// Loop thread: a request refused before it became an exchange (malformed
// head): counted under site and route "-", logged without method and path.
void buildRefusedRecord(RequestRecord& r, Worker& w, std::string_view request_id,
                        const ClientInfo& client, uint16_t status, uint64_t start_us);

}  // namespace edge
