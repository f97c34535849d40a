#include "gateway/admin/admin_server.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "cache/purge.h"
#include "gateway/log.h"
#include "gateway/metrics.h"
#include "gateway/server.h"

namespace edge {

AdminServer::AdminServer(Server& server) : server_(server) {}

AdminServer::~AdminServer() {
  stop();
}

bool AdminServer::start(const conf::HostPort& bind, std::string* error, UniqueFd inherited) {
  http_ = evhttp_new(loop_.base());
  evhttp_set_gencb(http_, &AdminServer::onRequest, this);
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
  evhttp_set_max_body_size(http_, 64 * 1024);
  bound_ = inherited ? evhttp_accept_socket_with_handle(http_, inherited.get())
                     : evhttp_bind_socket_with_handle(http_, bind.host.c_str(), bind.port);
  const bool inherited_used = bound_ && inherited;
  if (inherited_used) inherited.release();  // evhttp owns it now
  if (!bound_) {
    *error = std::string("cannot bind: ") + strerror(errno);
    evhttp_free(http_);
    http_ = nullptr;
    return false;
  }
  listen_fd_ = evhttp_bound_socket_get_fd(bound_);
  thread_ = std::thread([this] { event_base_loop(loop_.base(), EVLOOP_NO_EXIT_ON_EMPTY); });
  LOG_INFO("admin listener on %s%s", bind.str().c_str(), inherited_used ? " (taken over)" : "");
  return true;
}

void AdminServer::stopAccepting() {
  loop_.post([this] {
    if (!bound_) return;
    evhttp_del_accept_socket(http_, bound_);
    bound_ = nullptr;
  });
}

void AdminServer::stop() {
  if (thread_.joinable()) {
    loop_.post([this] { event_base_loopbreak(loop_.base()); });
    thread_.join();
  }
  if (http_) {
    evhttp_free(http_);
    http_ = nullptr;
  }
}

void AdminServer::onRequest(evhttp_request* req, void* arg) {
  static_cast<AdminServer*>(arg)->handle(req);
}

namespace {
void reply(evhttp_request* req, int code, const char* reason, const std::string& body,
           const char* type) {
  evkeyvalq* h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", type);
  evhttp_add_header(h, "Cache-Control", "no-store");
  evbuffer* buf = evbuffer_new();
  evbuffer_add(buf, body.data(), body.size());
  evhttp_send_reply(req, code, reason, buf);
  evbuffer_free(buf);
}
}  // namespace

bool AdminServer::authorized(evhttp_request* req) {
  const std::string& token = server_.snapshot()->config().server.admin.token;
  if (token.empty()) return true;
  const char* auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  if (!auth) return false;
  std::string expected = "Bearer " + token;
  // Constant-time compare: the token is a secret.
  size_t n = strlen(auth);
  if (n != expected.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(auth[i] ^ expected[i]);
  return diff == 0;
}

void AdminServer::handle(evhttp_request* req) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* p = uri ? evhttp_uri_get_path(uri) : nullptr;
  std::string path = p ? p : "/";
  evhttp_cmd_type method = evhttp_request_get_command(req);
  bool get = method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD;

  if (get && path == "/healthz") return reply(req, 200, "OK", "ok\n", "text/plain");
  if (get && path == "/readyz") {
    if (server_.draining())
      return reply(req, 503, "Service Unavailable", "draining\n", "text/plain");
    if (!server_.serving())
      return reply(req, 503, "Service Unavailable", "starting\n", "text/plain");
    return reply(req, 200, "OK", "ready\n", "text/plain");
  }
  if (get && path == "/metrics")
    return reply(req, 200, "OK", renderAllMetrics(server_, sources_), "text/plain; version=0.0.4");
  if (get && path == "/")
    return reply(req, 200, "OK", statusPageHtml(), "text/html; charset=utf-8");
  if (get && path == "/status.json")
    return reply(req, 200, "OK", statusJson(server_, sources_, Metrics::nowMicros()).dump(2) + "\n",
                 "application/json");
  if (get && path == "/config")
    return reply(req, 200, "OK", server_.snapshot()->config().toJson().dump(2) + "\n",
                 "application/json");
  if (method == EVHTTP_REQ_POST && (path == "/reload" || path == "/cache/purge")) {
    if (!authorized(req)) {
      evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
      return reply(req, 401, "Unauthorized", "{\"error\":\"missing or wrong bearer token\"}\n",
                   "application/json");
    }
    if (path == "/reload") {
      ReloadResult r = server_.reloadFromOtherThread();
      nlohmann::json j{{"ok", r.ok}, {"errors", r.errors}};
      return reply(req, r.ok ? 200 : 422, r.ok ? "OK" : "Unprocessable Content", j.dump() + "\n",
                   "application/json");
    }
    evbuffer* in = evhttp_request_get_input_buffer(req);
    std::string body(evbuffer_get_length(in), '\0');
    evbuffer_copyout(in, body.data(), body.size());
    cache::PurgeResult r = cache::purge(*server_.snapshot(), body);
    if (!r.ok)
      return reply(req, 400, "Bad Request", nlohmann::json{{"error", r.error}}.dump() + "\n",
                   "application/json");
    return reply(req, 200, "OK", nlohmann::json{{"purged", r.purged}}.dump() + "\n",
                 "application/json");
  }
  reply(req, 404, "Not Found", "not found\n", "text/plain");
}

}  // namespace edge
