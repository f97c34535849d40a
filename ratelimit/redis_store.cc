#include "ratelimit/redis_store.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

#include "gateway/log.h"
#include "ratelimit/redis_events.h"

namespace edge::ratelimit {
namespace {

// KEYS[i]: a bucket. ARGV[3i-2..3i]: interval in µs, burst, 1 when shadow.
// Returns 4 integers per bucket: allowed (0/1), remaining, retry_after_us,
// reset_us. The same math as gcra.cc; enforced buckets are charged only when
// all of them allow, and a key expires when its bucket would be full again.
// Microseconds since the epoch (~1.8e15) are exact in Lua's doubles (2^53).
constexpr const char* kScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local res, tats, ok = {}, {}, true
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 2])
  local burst = tonumber(ARGV[3 * i - 1])
  local tat = tonumber(redis.call('GET', KEYS[i])) or 0
  local base = math.max(tat, now)
  local nxt = base + interval
  local allow_at = nxt - burst * interval
  if now < allow_at then
    res[4 * i - 3], res[4 * i - 2], res[4 * i - 1], res[4 * i] = 0, 0, allow_at - now, base - now
    if ARGV[3 * i] ~= '1' then ok = false end
  else
    res[4 * i - 3], res[4 * i - 2], res[4 * i - 1], res[4 * i] =
      1, math.floor((now - allow_at) / interval), 0, nxt - now
    tats[i] = nxt
  end
end
for i = 1, #KEYS do
  if tats[i] and (ok or ARGV[3 * i] == '1') then
    redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX',
               math.floor((tats[i] - now) / 1000) + 1000)
  end
end
return res
)lua";

// Reconnect backoff: quick first retry (a Redis restart takes ~100 ms), then
// doubling so that a dead Redis costs one connect attempt every few seconds.
constexpr uint64_t kBackoffMinMs = 100;
constexpr uint64_t kBackoffMaxMs = 3000;
// A connect that neither succeeds nor fails within this is abandoned.
constexpr uint64_t kConnectTimeoutMs = 1000;
// Commands hiredis may hold at once; beyond it the connection is considered
// stuck (Redis stopped answering) and is replaced, which also frees them.
constexpr uint64_t kMaxInflight = 10000;

std::string sha1Hex(const char* text) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text), strlen(text), md);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool numericIp(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

const char* RedisStore::script() {
  return kScript;
}

RedisStore::RedisStore(Loop& loop) : loop_(loop), sha_(sha1Hex(kScript)) {
  reconnect_timer_ =
      makeEvent<RedisStore, &RedisStore::onReconnectTimer>(loop_.base(), -1, 0, this);
  connect_timer_ = makeEvent<RedisStore, &RedisStore::onConnectTimer>(loop_.base(), -1, 0, this);
  timeout_timer_ = makeEvent<RedisStore, &RedisStore::onTimeout>(loop_.base(), -1, 0, this);
}

RedisStore::~RedisStore() {
  // Waiters are exchanges, gone by now; nothing is told.
  for (auto& [id, p] : pending_) p->waiter = nullptr;
  disconnect();
  pending_.clear();
}

void RedisStore::preResolve(const conf::RedisConfig& rc) {
  const std::string& host = rc.address.host;
  if (numericIp(host) || resolved_.count(host)) return;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) {
    LOG_ERROR("rate_limits.redis.address: cannot resolve '%s'", host.c_str());
    return;
  }
  char text[INET6_ADDRSTRLEN] = "";
  if (res->ai_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, text, sizeof text);
  else
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, text,
              sizeof text);
  freeaddrinfo(res);
  resolved_[host] = text;
}

bool RedisStore::ensureConnected(const conf::RedisConfig& rc) {
  if (rc.address.host != host_ || rc.address.port != port_ || rc.password != password_) {
    // First use, or a reload moved Redis: start over with the new settings.
    disconnect();
    host_ = rc.address.host;
    port_ = rc.address.port;
    password_ = rc.password;
    ip_.clear();
    if (numericIp(host_)) {
      ip_ = host_;
    } else if (auto it = resolved_.find(host_); it != resolved_.end()) {
      ip_ = it->second;
    } else {
      LOG_ERROR("rate_limits.redis.address '%s' was not resolved at start-up: restart to use it",
                host_.c_str());
    }
    backoff_ms_ = 0;
    reconnect_scheduled_ = false;
    event_del(reconnect_timer_.get());
    if (!ip_.empty()) connect();
  }
  if (!ctx_ && !reconnect_scheduled_ && !ip_.empty()) scheduleReconnect();
  return ctx_ != nullptr;
}

void RedisStore::connect() {
  redisAsyncContext* ac = redisAsyncConnect(ip_.c_str(), port_);
  if (!ac) {
    scheduleReconnect();
    return;
  }
  if (ac->err) {
    LOG_WARN("redis %s:%u: %s", ip_.c_str(), port_, ac->errstr);
    redisAsyncFree(ac);
    scheduleReconnect();
    return;
  }
  ac->data = this;
  if (!attachRedisEvents(ac, loop_.base())) {
    ac->data = nullptr;
    redisAsyncFree(ac);
    scheduleReconnect();
    return;
  }
  redisAsyncSetConnectCallback(ac, &RedisStore::connectCallback);
  redisAsyncSetDisconnectCallback(ac, &RedisStore::disconnectCallback);
  ctx_ = ac;
  connected_ = false;
  if (!password_.empty()) {
    // Queued before any EVALSHA, so it is the first command Redis reads.
    ++inflight_;
    if (redisAsyncCommand(ac, &RedisStore::authCallback, nullptr, "AUTH %b", password_.data(),
                          password_.size()) != REDIS_OK)
      --inflight_;
  }
  timeval tv = toTimeval(kConnectTimeoutMs);
  event_add(connect_timer_.get(), &tv);
}

void RedisStore::disconnect() {
  event_del(connect_timer_.get());
  if (!ctx_) return;
  redisAsyncContext* ac = ctx_;
  ctx_ = nullptr;
  connected_ = false;
  // Our callbacks see data == nullptr and ignore what hiredis tells them while
  // it frees the context (NULL replies for every queued command). Their
  // waiters time out as usual.
  ac->data = nullptr;
  redisAsyncFree(ac);
  inflight_ = 0;
}

void RedisStore::scheduleReconnect() {
  if (reconnect_scheduled_) return;
  reconnect_scheduled_ = true;
  backoff_ms_ = backoff_ms_ == 0 ? kBackoffMinMs : std::min(backoff_ms_ * 2, kBackoffMaxMs);
  timeval tv = toTimeval(backoff_ms_);
  event_add(reconnect_timer_.get(), &tv);
}

void RedisStore::onReconnectTimer(short) {
  reconnect_scheduled_ = false;
  if (!ctx_ && !ip_.empty()) connect();
}

void RedisStore::onConnectTimer(short) {
  if (ctx_ && !connected_) {
    LOG_WARN("redis %s:%u: no connection after %llu ms", ip_.c_str(), port_,
             static_cast<unsigned long long>(kConnectTimeoutMs));
    disconnect();
    scheduleReconnect();
  }
}

void RedisStore::connectCallback(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisStore*>(ac->data);
  if (!self || self->ctx_ != ac) return;
  event_del(self->connect_timer_.get());
  if (status != REDIS_OK) {
    // hiredis frees the context when this returns.
    const uint64_t now = Loop::nowMicros();
    if (now - self->last_error_log_us_ > 10'000'000) {
      self->last_error_log_us_ = now;
      LOG_WARN("redis %s:%u: connect failed: %s (retrying with backoff)", self->ip_.c_str(),
               self->port_, ac->errstr);
    }
    // The commands queued meanwhile come back with NULL replies right after
    // this and fail at once, rather than each waiting for its timeout.
    self->ctx_ = nullptr;
    self->connected_ = false;
    self->scheduleReconnect();
    return;
  }
  self->connected_ = true;
  self->backoff_ms_ = 0;
  LOG_INFO("redis %s:%u: connected", self->ip_.c_str(), self->port_);
}

void RedisStore::disconnectCallback(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisStore*>(ac->data);
  if (!self || self->ctx_ != ac) return;
  // hiredis frees the context when this returns.
  LOG_WARN("redis %s:%u: connection lost: %s", self->ip_.c_str(), self->port_,
           ac->err ? ac->errstr : "closed");
  // (Its commands were already answered with NULL replies.)
  self->ctx_ = nullptr;
  self->connected_ = false;
  self->inflight_ = 0;
  self->scheduleReconnect();
}

void RedisStore::authCallback(redisAsyncContext* ac, void* r, void*) {
  auto* self = static_cast<RedisStore*>(ac->data);
  if (!self) return;
  if (self->inflight_ > 0) --self->inflight_;
  auto* reply = static_cast<redisReply*>(r);
  if (reply && reply->type == REDIS_REPLY_ERROR)
    LOG_ERROR("redis %s:%u: AUTH failed: %s", self->ip_.c_str(), self->port_, reply->str);
}

uint64_t RedisStore::decide(const conf::RedisConfig& rc, const RedisBucket* buckets, size_t n,
                            RedisWaiter* waiter) {
  if (!ensureConnected(rc)) return 0;
  if (inflight_ >= kMaxInflight) {
    LOG_WARN("redis %s:%u: %llu commands unanswered: reconnecting", ip_.c_str(), port_,
             static_cast<unsigned long long>(inflight_));
    disconnect();
    scheduleReconnect();
    return 0;
  }
  auto p = std::make_unique<Pending>();
  p->id = next_id_++;
  p->waiter = waiter;
  p->n = n;
  p->args.reserve(2 + 4 * n);
  p->args.emplace_back(std::to_string(n));
  for (size_t i = 0; i < n; ++i) p->args.push_back(buckets[i].key);
  for (size_t i = 0; i < n; ++i) {
    p->args.push_back(std::to_string(buckets[i].limit.interval_us));
    p->args.push_back(std::to_string(buckets[i].limit.burst));
    p->args.push_back(buckets[i].shadow ? "1" : "0");
  }
  Pending& ref = *p;
  const uint64_t id = p->id;
  pending_.emplace(id, std::move(p));
  const uint64_t now = Loop::nowMicros();
  deadlines_.push_back(
      {now + 1000 * static_cast<uint64_t>(std::max<int64_t>(rc.timeout.count(), 1)), id});
  if (!timeout_armed_) armTimeout(now);
  if (!send(ref, false)) {
    cancel(id);
    return 0;
  }
  return id;
}

bool RedisStore::send(Pending& p, bool eval) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(p.args.size() + 2);
  lens.reserve(p.args.size() + 2);
  argv.push_back(eval ? "EVAL" : "EVALSHA");
  lens.push_back(eval ? 4 : 7);
  if (eval) {
    argv.push_back(kScript);
    lens.push_back(strlen(kScript));
  } else {
    argv.push_back(sha_.data());
    lens.push_back(sha_.size());
  }
  for (const auto& a : p.args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  // The id, not a pointer, rides with the command: a late reply finds nothing.
  void* priv = reinterpret_cast<void*>(static_cast<uintptr_t>(p.id));
  if (!ctx_ ||
      redisAsyncCommandArgv(ctx_, &RedisStore::replyCallback, priv, static_cast<int>(argv.size()),
                            argv.data(), lens.data()) != REDIS_OK) {
    return false;
  }
  ++inflight_;
  return true;
}

void RedisStore::replyCallback(redisAsyncContext* ac, void* r, void* privdata) {
  auto* self = static_cast<RedisStore*>(ac->data);
  if (!self) return;
  if (self->inflight_ > 0) --self->inflight_;
  self->onReply(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(privdata)),
                static_cast<redisReply*>(r));
}

void RedisStore::onReply(uint64_t id, redisReply* reply) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // timed out or cancelled: ignore
  Pending& p = *it->second;
  if (!reply) {
    finish(id, false, nullptr, 0);
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    if (strncmp(reply->str, "NOSCRIPT", 8) == 0) {
      // Redis restarted or was flushed: EVAL loads the script again.
      if (!send(p, true)) finish(id, false, nullptr, 0);
      return;
    }
    const uint64_t now = Loop::nowMicros();
    if (now - last_error_log_us_ > 10'000'000) {
      last_error_log_us_ = now;
      LOG_ERROR("redis %s:%u: rate-limit script failed: %s", ip_.c_str(), port_, reply->str);
    }
    finish(id, false, nullptr, 0);
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 * p.n || p.n > 16) {
    finish(id, false, nullptr, 0);
    return;
  }
  Decision d[16];
  for (size_t i = 0; i < p.n; ++i) {
    redisReply** e = reply->element + 4 * i;
    for (int k = 0; k < 4; ++k) {
      if (e[k]->type != REDIS_REPLY_INTEGER) {
        finish(id, false, nullptr, 0);
        return;
      }
    }
    d[i].allowed = e[0]->integer != 0;
    d[i].remaining = e[1]->integer;
    d[i].retry_after_us = e[2]->integer;
    d[i].reset_us = e[3]->integer;
  }
  finish(id, true, d, p.n);
}

void RedisStore::finish(uint64_t id, bool ok, const Decision* d, size_t n) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  std::unique_ptr<Pending> p = std::move(it->second);
  pending_.erase(it);
  RedisWaiter* waiter = p->waiter;
  p.reset();
  if (waiter) waiter->onRedisResult(ok, d, n);
}

void RedisStore::cancel(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  pending_.erase(it);
}

void RedisStore::armTimeout(uint64_t now_us) {
  while (!deadlines_.empty() && !pending_.count(deadlines_.front().id)) deadlines_.pop_front();
  if (deadlines_.empty()) return;
  const uint64_t at = deadlines_.front().at_us;
  timeval tv{};
  if (at > now_us) {
    tv.tv_sec = static_cast<time_t>((at - now_us) / 1'000'000);
    tv.tv_usec = static_cast<suseconds_t>((at - now_us) % 1'000'000);
  }
  event_add(timeout_timer_.get(), &tv);
  timeout_armed_ = true;
}

void RedisStore::onTimeout(short) {
  timeout_armed_ = false;
  const uint64_t now = Loop::nowMicros();
  while (!deadlines_.empty() && deadlines_.front().at_us <= now) {
    const uint64_t id = deadlines_.front().id;
    deadlines_.pop_front();
    finish(id, false, nullptr, 0);  // no-op for a call already answered
  }
  armTimeout(now);
}

}  // namespace edge::ratelimit
