#pragma once
// hiredis's event hooks on a libevent loop, tuned for a command per request.
//
// hiredis's own adapters/libevent.h arms a one-shot read event after every
// reply and a write event for every command, then disarms it once written:
// four epoll_ctl calls per decision. Here the read event stays armed, and a
// command is written at the end of the current loop pass (all commands of
// that pass in one write) without waiting for the socket to report
// writability; only a write that would block arms the write event.
#include <hiredis/async.h>

struct event_base;

namespace edge::ratelimit {

// Attaches ac to base; false when it cannot (nothing is attached then).
// hiredis owns the attachment from then on and frees it with the context.
// Loop thread only.
[[nodiscard]] bool attachRedisEvents(redisAsyncContext* ac, event_base* base);

}  // namespace edge::ratelimit
