#include "ratelimit/redis_events.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>

namespace edge::ratelimit {
namespace {

struct RedisEvents {
  redisAsyncContext* ac = nullptr;  // null once hiredis has let go of us
  event* read = nullptr;            // persistent: armed while hiredis wants replies
  event* write = nullptr;           // persistent: armed only while a write would block
  event* flush = nullptr;           // no fd: made active to write at the end of this pass
  bool reading = false;
  bool writing = false;
  bool flush_pending = false;
  bool in_flush = false;
};

bool connected(const RedisEvents* e) {
  return (e->ac->c.flags & REDIS_CONNECTED) != 0;
}

void onRead(evutil_socket_t, short, void* arg) {
  redisAsyncHandleRead(static_cast<RedisEvents*>(arg)->ac);
}

void onWrite(evutil_socket_t, short, void* arg) {
  redisAsyncHandleWrite(static_cast<RedisEvents*>(arg)->ac);
}

void onFlush(evutil_socket_t, short, void* arg) {
  auto* e = static_cast<RedisEvents*>(arg);
  e->flush_pending = false;
  e->in_flush = true;
  // A failed write makes hiredis free the context, and with it our cleanup
  // runs: it leaves the struct to us while in_flush is set.
  redisAsyncHandleWrite(e->ac);
  if (!e->ac) {
    delete e;
    return;
  }
  e->in_flush = false;
}

void addRead(void* p) {
  auto* e = static_cast<RedisEvents*>(p);
  if (e->reading) return;
  e->reading = true;
  event_add(e->read, nullptr);
}

void delRead(void* p) {
  auto* e = static_cast<RedisEvents*>(p);
  if (!e->reading) return;
  e->reading = false;
  event_del(e->read);
}

void armWrite(RedisEvents* e) {
  if (e->writing) return;
  e->writing = true;
  event_add(e->write, nullptr);
}

void addWrite(void* p) {
  auto* e = static_cast<RedisEvents*>(p);
  // While connecting, writability is what says the connect finished; and a
  // flush that could not write everything must wait for the socket.
  if (!connected(e) || e->in_flush) {
    armWrite(e);
    return;
  }
  if (e->writing || e->flush_pending) return;
  e->flush_pending = true;
  event_active(e->flush, EV_WRITE, 1);
}

void delWrite(void* p) {
  auto* e = static_cast<RedisEvents*>(p);
  if (!e->writing) return;
  e->writing = false;
  event_del(e->write);
}

void cleanup(void* p) {
  auto* e = static_cast<RedisEvents*>(p);
  event_free(e->read);
  event_free(e->write);
  event_free(e->flush);
  e->ac = nullptr;
  if (!e->in_flush) delete e;
}

}  // namespace

bool attachRedisEvents(redisAsyncContext* ac, event_base* base) {
  if (ac->ev.data != nullptr) return false;
  auto* e = new RedisEvents;
  e->ac = ac;
  const int fd = ac->c.fd;
  e->read = event_new(base, fd, EV_READ | EV_PERSIST, onRead, e);
  e->write = event_new(base, fd, EV_WRITE | EV_PERSIST, onWrite, e);
  e->flush = event_new(base, -1, 0, onFlush, e);
  if (!e->read || !e->write || !e->flush) {
    if (e->read) event_free(e->read);
    if (e->write) event_free(e->write);
    if (e->flush) event_free(e->flush);
    delete e;
    return false;
  }
  ac->ev.addRead = addRead;
  ac->ev.delRead = delRead;
  ac->ev.addWrite = addWrite;
  ac->ev.delWrite = delWrite;
  ac->ev.cleanup = cleanup;
  ac->ev.data = e;
  // As hiredis's adapter does: wait for the connect to finish (writable) and
  // for anything Redis says.
  addRead(e);
  armWrite(e);
  return true;
}

}  // namespace edge::ratelimit
