#include "ratelimit/rate_limit_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "gateway/client_ip.h"
#include "gateway/log.h"
#include "gateway/worker.h"
#include "ratelimit/key.h"

namespace edge::ratelimit {
namespace {

int64_t monotonicMicros() {
  return static_cast<int64_t>(Loop::nowMicros());
}

// A policy name as a structured-field string (RFC 8941 3.3.3): printable
// ASCII, with '"' and '\' escaped; anything else is dropped.
void appendSfString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) continue;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

int64_t windowSeconds(const conf::RateLimitPolicy& p) {
  return std::max<int64_t>(1, (p.window.count() + 999) / 1000);
}

std::string ipText(const IpAddr& a) {
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes, text, sizeof text);
  return text;
}

}  // namespace

// Per exchange: what was decided, for the response headers, and the Redis
// call in flight. Owned by the exchange (Exchange::setRateLimitState).
class ExchangeState final : public Deletable, public RedisWaiter {
 public:
  ExchangeState(RateLimitPolicy& owner, Exchange& ex) : owner_(owner), ex_(ex) {}
  ~ExchangeState() override {
    if (pending_ && owner_.redis_) owner_.redis_->cancel(pending_);
  }

  void onRedisResult(bool ok, const Decision* d, size_t n) override {
    pending_ = 0;
    // The client may have gone while Redis was thinking.
    if (ex_.finished() || ex_.responseStarted()) return;
    if (ok && n != n_) ok = false;
    if (conclude(ok, d) == PolicyResult::kContinue) ex_.resume();
  }

  // All decisions are in (ok) or cannot be had (!ok): count them, prepare
  // the headers, and refuse or let the request through.
  PolicyResult conclude(bool ok, const Decision* d) {
    const auto& rl = ex_.snapshot().config().rate_limits;
    policy_header_.clear();
    for (size_t i = 0; i < n_; ++i) {
      if (i) policy_header_.append(", ");
      appendSfString(policy_header_, policies_[i]->name);
      policy_header_.append(";q=").append(std::to_string(policies_[i]->rate));
      policy_header_.append(";w=").append(std::to_string(windowSeconds(*policies_[i])));
    }
    if (!ok) {
      ex_.noteRateLimit("error");
      for (size_t i = 0; i < n_; ++i) owner_.record(ex_, *policies_[i], nullptr, true, short_[i]);
      if (rl.redis.on_error == conf::OnError::kDeny) {
        ex_.respondError(503, "the rate limiter cannot decide (Redis unavailable)",
                         {{"Retry-After", "1"}});
        return PolicyResult::kRespond;
      }
      return PolicyResult::kContinue;
    }
    decided_ = true;
    bool refused = false, shadow_refused = false;
    int64_t retry_us = 0;
    limit_header_.clear();
    for (size_t i = 0; i < n_; ++i) {
      owner_.record(ex_, *policies_[i], &d[i], false, short_[i]);
      if (!d[i].allowed && policies_[i]->mode == conf::RateLimitMode::kEnforce) {
        refused = true;
        retry_us = std::max(retry_us, d[i].retry_after_us);
      } else if (!d[i].allowed) {
        shadow_refused = true;
      }
      if (i) limit_header_.append(", ");
      appendSfString(limit_header_, policies_[i]->name);
      limit_header_.append(";r=").append(std::to_string(std::max<int64_t>(d[i].remaining, 0)));
      limit_header_.append(";t=").append(std::to_string(ceilSeconds(d[i].reset_us)));
    }
    // The access log's `ratelimit` field.
    ex_.noteRateLimit(refused ? "limited" : shadow_refused ? "shadow_limited" : "allowed");
    if (!refused) return PolicyResult::kContinue;
    retry_after_ = std::to_string(std::max<int64_t>(ceilSeconds(retry_us), 1));
    ex_.respondError(429, "rate limit exceeded", {{"Retry-After", retry_after_}});
    return PolicyResult::kRespond;
  }

  RateLimitPolicy& owner_;
  Exchange& ex_;
  const conf::RateLimitPolicy* policies_[kMaxPoliciesPerRoute] = {};
  char short_[kMaxPoliciesPerRoute][9] = {};  // short key hashes, for log lines
  size_t n_ = 0;
  IpAddr client_;
  std::string policy_header_, limit_header_, retry_after_;
  uint64_t pending_ = 0;
  bool decided_ = false;
};

RateLimitPolicy::RateLimitPolicy(Worker& worker, const conf::Config& initial, Clock clock)
    : worker_(worker), clock_(clock ? clock : &monotonicMicros) {
  if (initial.rate_limits.store == "redis") {
    redis_ = std::make_unique<RedisStore>(worker_.loop());
    redis_->preResolve(initial.rate_limits.redis);
  }
}

RateLimitPolicy::~RateLimitPolicy() = default;

LocalStore& RateLimitPolicy::local(uint64_t max_keys) {
  if (!local_ || local_->maxKeys() != std::max<uint64_t>(max_keys, 1))
    local_ = LocalStore::shared(max_keys);
  return *local_;
}

PolicyResult RateLimitPolicy::onRequest(Exchange& ex) {
  const conf::Route* route = ex.route();
  if (!route || route->rate_limit.empty()) return PolicyResult::kContinue;
  const conf::Config& cfg = ex.snapshot().config();
  const conf::RateLimitConfig& rl = cfg.rate_limits;

  auto owned = std::make_unique<ExchangeState>(*this, ex);
  ExchangeState& st = *owned;
  for (const std::string& name : route->rate_limit) {
    if (st.n_ == kMaxPoliciesPerRoute) break;
    auto it = rl.policies.find(name);
    if (it != rl.policies.end()) st.policies_[st.n_++] = &it->second;
  }
  if (st.n_ == 0) return PolicyResult::kContinue;
  st.client_ = realClientAddr(cfg, ex.client(), ex.request());
  ex.setRateLimitState(std::move(owned));

  if (rl.store == "redis") {
    RedisBucket buckets[kMaxPoliciesPerRoute];
    for (size_t i = 0; i < st.n_; ++i) {
      key_scratch_.clear();
      buildKey(*st.policies_[i], st.client_, ex.request(), key_scratch_);
      std::string h = stableHash(key_scratch_);
      memcpy(st.short_[i], h.data(), 8);
      buckets[i].key.reserve(12 + h.size());
      buckets[i].key.append("edgegate:rl:").append(h);
      buckets[i].limit = limitFor(*st.policies_[i]);
      buckets[i].shadow = st.policies_[i]->mode == conf::RateLimitMode::kShadow;
    }
    if (!redis_) redis_ = std::make_unique<RedisStore>(worker_.loop());
    const uint64_t id = redis_->decide(rl.redis, buckets, st.n_, &st);
    if (id == 0) return st.conclude(false, nullptr);  // known down: no wait
    st.pending_ = id;
    return PolicyResult::kPause;
  }

  BucketRequest reqs[kMaxPoliciesPerRoute];
  Decision decisions[kMaxPoliciesPerRoute];
  for (size_t i = 0; i < st.n_; ++i) {
    key_scratch_.clear();
    buildKey(*st.policies_[i], st.client_, ex.request(), key_scratch_);
    reqs[i].key = localHash(key_scratch_);
    // Hex by hand: snprintf here was a visible share of the decision's cost.
    static const char kHex[] = "0123456789abcdef";
    for (int k = 0; k < 8; ++k) st.short_[i][k] = kHex[(reqs[i].key >> (60 - 4 * k)) & 15];
    reqs[i].limit = limitFor(*st.policies_[i]);
    reqs[i].shadow = st.policies_[i]->mode == conf::RateLimitMode::kShadow;
  }
  local(rl.max_keys).decide(reqs, st.n_, clock_(), decisions);
  return st.conclude(true, decisions);
}

void RateLimitPolicy::onResponseHead(Exchange& ex, ResponseOut& head) {
  auto* st = static_cast<ExchangeState*>(ex.rateLimitState());
  if (!st || st->policy_header_.empty()) return;
  head.set("RateLimit-Policy", st->policy_header_);
  if (st->decided_) head.set("RateLimit", st->limit_header_);
}

void RateLimitPolicy::record(Exchange& ex, const conf::RateLimitPolicy& p, const Decision* d,
                             bool error, std::string_view key) {
  using M = WorkerMetrics;
  worker_.metrics().recordRateLimit(p.name, error        ? M::kRateError
                                            : d->allowed ? M::kRateAllowed
                                                         : M::kRateLimited);
  if (error || d->allowed) return;
  // Under attack every request is refused: one line a second says enough.
  const uint64_t now = Loop::nowMicros();
  if (now - last_log_us_ < 1'000'000) {
    ++unlogged_;
    return;
  }
  last_log_us_ = now;
  const bool shadow = p.mode == conf::RateLimitMode::kShadow;
  auto* st = static_cast<ExchangeState*>(ex.rateLimitState());
  // The key is named by a short hash only: it may be a session cookie.
  LOG_INFO(
      "ratelimit: policy '%s' %s client %s key #%.*s %s %.*s%s (retry in %llds; %llu more "
      "refusals not logged)",
      p.name.c_str(), shadow ? "would limit (shadow mode)" : "limited",
      st ? ipText(st->client_).c_str() : "-", static_cast<int>(key.size()), key.data(),
      std::string(ex.request().methodView()).c_str(),
      static_cast<int>(ex.request().pathView().size()), ex.request().pathView().data(), "",
      static_cast<long long>(ceilSeconds(d->retry_after_us)),
      static_cast<unsigned long long>(unlogged_));
  unlogged_ = 0;
}

}  // namespace edge::ratelimit
