#include "cache/cache_state.h"

#include <event2/buffer.h>

#include <algorithm>
#include <ctime>

#include "cache/key.h"
#include "gateway/http1/parser.h"
#include "gateway/worker.h"

namespace edge::cache {
namespace {

using http1::iequals;

int64_t wallSeconds() {
  return static_cast<int64_t>(time(nullptr));
}

int64_t seconds(conf::Duration d) {
  return static_cast<int64_t>(d.count() / 1000);
}

bool isUnsafe(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

// Fields never stored: the framing is the cache's own, Age is computed at each hit.
bool notStored(std::string_view n) {
  return iequals(n, "content-length") || iequals(n, "age") || iequals(n, "transfer-encoding");
}

// Fields a 304 carries (RFC 9110 15.4.5).
bool keptIn304(std::string_view n) {
  return iequals(n, "etag") || iequals(n, "last-modified") || iequals(n, "cache-control") ||
         iequals(n, "expires") || iequals(n, "vary") || iequals(n, "content-location") ||
         iequals(n, "date");
}

// One "bytes=first-last" range of a body of `size` bytes. 1: satisfiable, 0: unsatisfiable
// (416), -1: not a single byte range (ignored, the whole body is sent).
int parseRange(std::string_view r, uint64_t size, uint64_t* off, uint64_t* len) {
  if (r.substr(0, 6) != "bytes=") return -1;
  r.remove_prefix(6);
  if (r.find(',') != std::string_view::npos) return -1;
  size_t dash = r.find('-');
  if (dash == std::string_view::npos) return -1;
  auto num = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 18) return false;
    uint64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = n;
    return true;
  };
  std::string_view a = r.substr(0, dash), b = r.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last N bytes
    if (!num(b, &last)) return -1;
    if (last == 0 || size == 0) return 0;
    first = last >= size ? 0 : size - last;
    last = size - 1;
  } else {
    if (!num(a, &first)) return -1;
    if (b.empty()) {
      last = size ? size - 1 : 0;
    } else if (!num(b, &last) || last < first) {
      return -1;
    }
    if (first >= size) return 0;
    last = std::min(last, size - 1);
  }
  *off = first;
  *len = last - first + 1;
  return 1;
}

}  // namespace

CacheState::CacheState(CachePolicy& owner, Exchange& ex, const conf::CachePolicy& policy,
                       std::shared_ptr<Store> store)
    : owner_(owner),
      ex_(ex),
      policy_(policy),
      store_(std::move(store)),
      request_time_(wallSeconds()) {}

CacheState::~CacheState() {
  if (token_) token_->state = nullptr;
  finishLead(false);
}

PolicyTimes CacheState::times() const {
  PolicyTimes t;
  t.default_ttl = seconds(policy_.default_ttl);
  t.max_ttl = seconds(policy_.max_ttl);
  t.stale_while_revalidate = seconds(policy_.stale_while_revalidate);
  t.stale_if_error = seconds(policy_.stale_if_error);
  return t;
}

void CacheState::setStatus(Result r, const char* fwd, const char* detail, bool stored, int64_t ttl,
                           bool with_ttl, uint16_t fwd_status) {
  result_ = r;
  status_.assign("edgegate; ");
  if (fwd) {
    status_.append("fwd=").append(fwd);
    if (fwd_status) status_.append("; fwd-status=").append(std::to_string(fwd_status));
  } else {
    status_.append("hit");
  }
  if (with_ttl) status_.append("; ttl=").append(std::to_string(ttl));
  if (stored) status_.append("; stored");
  if (detail && *detail) status_.append("; detail=").append(detail);
}

void CacheState::requestValue(std::string_view name, std::string& out) const {
  const http1::RequestHead& req = ex_.request();
  bool any = false;
  for (const auto& f : req.fields) {
    if (!iequals(req.name(f), name)) continue;
    if (any) out.append(", ");
    out.append(req.value(f));
    any = true;
  }
}

bool CacheState::varyMatches(const Entry& e) const {
  std::string v;
  for (const auto& [name, value] : e.vary) {
    v.clear();
    requestValue(name, v);
    if (normalizeVaryValue(name, v) != value) return false;
  }
  return true;
}

PolicyResult CacheState::begin() {
  const http1::RequestHead& req = ex_.request();
  std::string_view method = req.methodView();
  const auto& cfg = ex_.snapshot().config();
  buildKey(req.hostView(), req.pathView(), req.queryView(), req.has_query,
           policy_.ignore_query_params, key_);
  if (isUnsafe(method)) {
    unsafe_ = true;
    setStatus(Result::kBypass, "bypass", "method", false, 0, false);
    ex_.setResponseObserver(this);
    return PolicyResult::kContinue;
  }
  head_ = method == "HEAD";
  if (method != "GET" && !head_) {
    setStatus(Result::kBypass, "bypass", "method", false, 0, false);
    return PolicyResult::kContinue;
  }
  std::string cc, pragma;
  requestValue("cache-control", cc);
  requestValue("pragma", pragma);
  rd_ = parseRequestDirectives(cc, pragma);
  // Authorization or a session cookie: never answered from the shared cache (SPEC.md).
  for (const auto& f : req.fields) {
    std::string_view n = req.name(f);
    if (iequals(n, "authorization")) authenticated_ = true;
    if (!authenticated_ && iequals(n, "cookie")) {
      std::string_view c = req.value(f);
      for (const auto& name : cfg.cache.session_cookies) {
        size_t pos = 0;
        while ((pos = c.find(name, pos)) != std::string_view::npos) {
          bool start = pos == 0 || c[pos - 1] == ' ' || c[pos - 1] == ';';
          size_t end = pos + name.size();
          while (end < c.size() && c[end] == ' ') ++end;
          if (start && end < c.size() && c[end] == '=') authenticated_ = true;
          pos += name.size();
        }
      }
    }
  }
  if (authenticated_) {
    // Its response may still be stored when the origin says public or s-maxage.
    setStatus(Result::kBypass, "bypass", "authenticated", false, 0, false);
    if (!head_) ex_.setResponseObserver(this);
    return PolicyResult::kContinue;
  }
  return lookup();
}

PolicyResult CacheState::lookup() {
  int64_t now = wallSeconds();
  bool any_variant = false;
  EntryPtr e = store_->find(
      key_, [this](const Entry& x) { return varyMatches(x); }, &any_variant);
  vary_miss_ = any_variant && !e;
  if (e) {
    Usable u = usability(e->freshness, rd_, now);
    int64_t ttl = e->freshness.lifetime - currentAge(e->freshness, now);
    if (u == Usable::kFresh) {
      setStatus(Result::kHit, nullptr, collapsed_ ? "collapsed" : "", false, ttl, true);
      serve(e);
      return PolicyResult::kRespond;
    }
    if (u == Usable::kStaleRevalidate) {
      setStatus(Result::kStale, nullptr, "stale-while-revalidate", false, ttl, true);
      // One refresh per key: whoever holds the key's slot is already fetching it.
      // (Not across a reload: the refresh runs on the worker's current configuration.)
      bool same_config = &ex_.worker().snapshot()->config() == &ex_.snapshot().config();
      if (same_config && store_->lead(key_)) owner_.startRefresh(ex_, e, store_);
      serve(e);
      return PolicyResult::kRespond;
    }
    stale_ = e;
  }
  if (rd_.only_if_cached) {
    setStatus(Result::kMiss, "miss", "only-if-cached", false, 0, false);
    ex_.respondError(504, "not in the cache (only-if-cached)");
    return PolicyResult::kRespond;
  }
  if (head_) {
    // A HEAD answer cannot be stored: it goes through, uncollapsed.
    setStatus(Result::kMiss, "uri-miss", "method", false, 0, false);
    return PolicyResult::kContinue;
  }
  if (collapsed_) return toOrigin();  // woken without an entry: no second wait
  auto token = std::make_shared<WaitToken>();
  token->state = this;
  CollapseWaiter w;
  w.loop = &ex_.worker().loop();
  w.wake = [token](bool stored) {
    if (token->state) token->state->onWake(stored, false);
  };
  bool queued = false;
  if (store_->leadOrWait(key_, std::move(w), &queued)) {
    leading_ = true;
    return toOrigin();
  }
  if (!queued) return toOrigin();
  token_ = std::move(token);
  waiting_ = true;
  // Bounded: after the origin's own response timeout the waiter asks the origin itself.
  const conf::Upstream* up = ex_.snapshot().upstreamFor(ex_.route());
  uint64_t ms = up ? static_cast<uint64_t>(up->response_timeout.count()) : 30000;
  wait_timer_.reset(event_new(
      ex_.worker().loop().base(), -1, 0,
      [](evutil_socket_t, short, void* arg) { static_cast<CacheState*>(arg)->onWake(false, true); },
      this));
  timeval tv = toTimeval(ms);
  event_add(wait_timer_.get(), &tv);
  return PolicyResult::kPause;
}

void CacheState::onWake(bool stored, bool timed_out) {
  if (!waiting_) return;
  waiting_ = false;
  wait_timer_.reset();
  if (token_) token_->state = nullptr;
  token_.reset();
  if (ex_.finished() || ex_.responseStarted()) return;
  collapsed_ = true;
  stale_.reset();
  if (lookup() == PolicyResult::kContinue) ex_.resume();
  (void)stored;
  (void)timed_out;
}

PolicyResult CacheState::toOrigin() {
  request_time_ = wallSeconds();
  std::string fields;
  if (stale_ && !rd_.no_cache) {
    // Revalidate our entry with its own validators.
    if (!stale_->etag.empty()) fields.append("If-None-Match: ").append(stale_->etag).append("\r\n");
    if (!stale_->last_modified.empty())
      fields.append("If-Modified-Since: ").append(stale_->last_modified).append("\r\n");
    revalidating_ = !fields.empty();
  }
  // A whole, unconditional answer is what can be stored; the client's validators and
  // Range are answered from it.
  ex_.setOriginFields(std::move(fields), true);
  ex_.setResponseObserver(this);
  return PolicyResult::kContinue;
}

void CacheState::prepareRefresh(EntryPtr stale) {
  refresh_ = true;
  stale_ = std::move(stale);
  leading_ = true;
}

PolicyResult CacheState::beginRefresh() {
  const http1::RequestHead& req = ex_.request();
  buildKey(req.hostView(), req.pathView(), req.queryView(), req.has_query,
           policy_.ignore_query_params, key_);
  std::string cc, pragma;
  requestValue("cache-control", cc);
  requestValue("pragma", pragma);
  rd_ = parseRequestDirectives(cc, pragma);
  rd_.no_cache = false;
  return toOrigin();
}

std::shared_ptr<Entry> CacheState::startEntry(const ResponseOut& head, int64_t now) {
  auto e = std::make_shared<Entry>();
  e->key = key_;
  e->status = head.status;
  FieldList kept;
  kept.reserve(head.headers.size());
  for (const auto& [n, v] : head.headers) {
    if (notStored(n)) continue;
    kept.emplace_back(n, v);
    if (iequals(n, "vary")) {
      for (auto item : splitList(v)) {
        std::string name(item);
        for (auto& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        std::string value;
        requestValue(name, value);
        e->vary.emplace_back(name, normalizeVaryValue(name, value));
      }
    }
    if (iequals(n, "cache-tag") || iequals(n, "surrogate-key")) {
      // Cache-Tag is comma-separated, Surrogate-Key space-separated: accept both.
      std::string_view list = v;
      while (!list.empty()) {
        size_t end = list.find_first_of(", ");
        std::string_view t = list.substr(0, end);
        if (!t.empty()) e->tags.emplace_back(t);
        if (end == std::string_view::npos) break;
        list.remove_prefix(end + 1);
      }
    }
  }
  e->setFields(kept);
  e->freshness = computeFreshness(kept, times(), request_time_, now);
  // The origin's Age counts, though it is not stored.
  if (auto age = findField(head.headers, "age")) {
    FieldList with_age = kept;
    with_age.emplace_back("Age", *age);
    e->freshness = computeFreshness(with_age, times(), request_time_, now);
  }
  if (head.framing == http1::Framing::kLength)
    e->body.reserve(static_cast<size_t>(head.content_length));
  return e;
}

std::shared_ptr<Entry> CacheState::refreshed(const Entry& old, const ResponseOut& nm,
                                             int64_t now) const {
  // RFC 9111 4.3.4: the 304's fields replace the stored ones of the same name.
  auto e = std::make_shared<Entry>();
  e->key = old.key;
  e->vary = old.vary;
  e->status = old.status;
  e->tags = old.tags;
  FieldList merged;
  for (const auto& [n, v] : old.fields) {
    bool replaced = false;
    for (const auto& [n2, v2] : nm.headers) replaced |= iequals(n, n2);
    if (!replaced) merged.emplace_back(n, v);
  }
  for (const auto& [n, v] : nm.headers)
    if (!notStored(n)) merged.emplace_back(n, v);
  e->setFields(merged);
  e->freshness = computeFreshness(merged, times(), request_time_, now);
  e->body = old.body;
  return e;
}

void CacheState::invalidate(const ResponseOut& head) {
  // RFC 9111 4.4: the target URI, and Location / Content-Location on the same host.
  store_->purgeKey(key_);
  std::string host_key, k;
  buildKey(ex_.request().hostView(), "", "", false, {}, host_key);
  host_key.pop_back();  // "host/" -> "host"
  for (const char* name : {"location", "content-location"}) {
    auto v = findField(head.headers, name);
    if (!v || v->empty()) continue;
    if ((*v)[0] == '/') {
      if (v->size() > 1 && (*v)[1] == '/') continue;  // network-path reference
      if (keyFromUrl(host_key + std::string(*v), policy_.ignore_query_params, k))
        store_->purgeKey(k);
    } else if (keyFromUrl(*v, policy_.ignore_query_params, k) &&
               k.compare(0, host_key.size() + 1, host_key + "/") == 0) {
      store_->purgeKey(k);
    }
  }
}

bool CacheState::onResponseHead(const ResponseOut& head) {
  int64_t now = wallSeconds();
  if (unsafe_) {
    if (head.status < 400) invalidate(head);
    return false;
  }
  if (stale_ && revalidating_ && head.status == 304) {
    auto fresh = refreshed(*stale_, head, now);
    store_->replace(stale_, fresh);
    serving_ = std::move(fresh);
    setStatus(Result::kRevalidated, "stale", "", true, 0, false, 304);
    return true;
  }
  if (stale_ && head.status >= 500 && usableOnError(stale_->freshness, now)) {
    serving_ = stale_;
    int64_t ttl = stale_->freshness.lifetime - currentAge(stale_->freshness, now);
    setStatus(Result::kStale, "stale", "stale-if-error", false, ttl, true, head.status);
    return true;
  }
  RequestFacts facts;
  facts.method = ex_.request().methodView();
  facts.path = ex_.request().pathView();
  facts.authenticated = authenticated_;
  facts.no_store = rd_.no_store;
  Storability st = decideStorable(facts, head.status, head.headers, times());
  if (st.store && head.framing == http1::Framing::kLength &&
      head.content_length > store_->maxObject())
    st = {false, "size"};
  if (st.store) building_ = startEntry(head, now);
  bool was_stale = stale_ && !rd_.no_cache;
  const char* fwd = authenticated_ ? "bypass"
                    : rd_.no_cache ? "request"
                    : was_stale    ? "stale"
                    : vary_miss_   ? "vary-miss"
                                   : "uri-miss";
  Result r = authenticated_ ? Result::kBypass : Result::kMiss;
  const char* detail = st.store ? (authenticated_ ? "authenticated" : "") : st.reason;
  setStatus(r, fwd, detail, st.store, 0, false, was_stale ? head.status : 0);
  return false;
}

void CacheState::onResponseBody(const char* data, size_t len) {
  if (!building_) return;
  if (building_->body.size() + len > store_->maxObject()) {
    building_.reset();  // streamed on, not kept
    return;
  }
  building_->body.append(data, len);
}

void CacheState::onResponseEnd(bool complete) {
  bool stored = false;
  if (building_ && complete) stored = store_->insert(std::move(building_));
  building_.reset();
  finishLead(stored);
}

void CacheState::onTakenOver() {
  finishLead(true);
  EntryPtr e = std::move(serving_);
  serve(e);
}

void CacheState::finishLead(bool stored) {
  if (!leading_) return;
  leading_ = false;
  store_->finish(key_, stored);
}

void CacheState::decorate(ResponseOut& head) {
  if (status_.empty()) return;
  head.set("Cache-Status", status_);
  if (!recorded_) {
    recorded_ = true;
    ex_.noteCacheStatus(resultName(result_));
    ex_.worker().metrics().recordCache(policy_.name, static_cast<uint8_t>(result_));
    if (ex_.site() && ex_.route()) {
      bool hit =
          result_ == Result::kHit || result_ == Result::kStale || result_ == Result::kRevalidated;
      owner_.hitWindow().record(*ex_.site(), *ex_.route(), hit, Loop::nowMicros());
    }
  }
}

void CacheState::serve(const EntryPtr& e) {
  const http1::RequestHead& req = ex_.request();
  int64_t age = std::max<int64_t>(0, currentAge(e->freshness, wallSeconds()));
  age_ = std::to_string(age);
  ResponseOut out;
  out.status = e->status;
  out.headers.reserve(e->fields.size() + 4);
  uint64_t off = 0, len = e->body.size();
  // The client's own validators, against the entry (RFC 9110 13.2.2).
  bool not_modified = false;
  if (e->status == 200) {
    const http1::Field* inm = req.find("if-none-match");
    if (inm) {
      not_modified = etagListMatches(req.value(*inm), e->etag);
    } else if (const http1::Field* ims = req.find("if-modified-since")) {
      auto since = parseHttpDate(req.value(*ims));
      auto lm = parseHttpDate(e->last_modified);
      not_modified = since && lm && *lm <= *since;
    }
  }
  if (not_modified) {
    out.status = 304;
    for (const auto& f : e->fields)
      if (keptIn304(f.first)) out.headers.push_back(f);
    out.framing = http1::Framing::kNone;
    len = 0;
  } else {
    out.headers = e->fields;
    const http1::Field* range = req.find("range");
    if (range && e->status == 200 && !head_) {
      const http1::Field* if_range = req.find("if-range");
      bool range_ok = true;
      if (if_range) {
        std::string_view ir = req.value(*if_range);
        range_ok = (!ir.empty() && ir[0] == '"')
                       ? (!e->etag.empty() && ir == e->etag)
                       : (!e->last_modified.empty() && ir == e->last_modified);
      }
      int r = range_ok ? parseRange(req.value(*range), e->body.size(), &off, &len) : -1;
      if (r == 1) {
        out.status = 206;
        content_range_ = "bytes " + std::to_string(off) + "-" + std::to_string(off + len - 1) +
                         "/" + std::to_string(e->body.size());
        out.headers.emplace_back("Content-Range", content_range_);
      } else if (r == 0) {
        out.status = 416;
        content_range_ = "bytes */" + std::to_string(e->body.size());
        out.headers.emplace_back("Content-Range", content_range_);
        off = len = 0;
      }
    }
    out.framing = http1::Framing::kLength;
    out.content_length = len;
  }
  out.headers.emplace_back("Age", age_);
  ex_.sendResponseHead(out);
  if (len > 0 && !head_) {
    evbuffer* b = owner_.bodyBuffer();
    // The entry lives while the bytes wait in the client's buffer: the reference is dropped
    // when libevent frees them.
    auto* ref = new EntryPtr(e);
    evbuffer_add_reference(
        b, e->body.data() + off, static_cast<size_t>(len),
        [](const void*, size_t, void* arg) { delete static_cast<EntryPtr*>(arg); }, ref);
    ex_.sendBodyBuffer(b, static_cast<size_t>(len));
  }
  ex_.finishResponse();
  ex_.downstream().flush();
}

}  // namespace edge::cache
