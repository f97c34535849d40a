// edgegate: command line entry (SPEC.md "Command line").
#include <event2/event.h>
#include <event2/thread.h>
#include <nghttp2/nghttp2ver.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "conf/loader.h"
#include "gateway/explain.h"
#include "gateway/log.h"
#include "gateway/server.h"
#include "tls/context.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/edgegate/edgegate.yaml";

void usage(FILE* out) {
  fprintf(out,
          "usage: edgegate [-c FILE]            run with that config (default %s)\n"
          "       edgegate -t [-c FILE]         validate the config and exit\n"
          "       edgegate -c FILE --pid-file PATH          also write the process id there\n"
          "       edgegate -c FILE --upgrade-from PIDFILE   take over the listening sockets of\n"
          "                                     the running edgegate, then make it drain\n"
          "       edgegate explain -c FILE [-X METHOD] [-H 'Name: value']... [--json] URL\n"
          "       edgegate --version\n",
          kDefaultConfig);
}

int validate(const std::string& path) {
  auto result = edge::conf::loadConfigFile(path);
  if (!result.ok()) {
    for (const auto& e : result.errors) printf("%s\n", e.str().c_str());
    return 1;
  }
  // Certificates and keys: readable, matching, not expired (OpenSSL, in tls/).
  edge::tls::LoadReport report;
  edge::tls::buildTlsSet(*result.config, report);
  for (const auto& w : report.warnings) printf("warning: %s\n", w.c_str());
  if (!report.ok()) {
    for (const auto& e : report.errors) printf("%s\n", e.c_str());
    return 1;
  }
  printf("configuration OK\n");
  return 0;
}

// Many client and origin sockets per worker: use every descriptor allowed.
void raiseFdLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string config = kDefaultConfig;
  bool test_only = false;
  std::string pid_file, upgrade_from;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "explain") {
    return edge::runExplain({args.begin() + 1, args.end()}, kDefaultConfig, stdout, stderr);
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-c" && i + 1 < args.size()) {
      config = args[++i];
    } else if (a == "--pid-file" && i + 1 < args.size()) {
      pid_file = args[++i];
    } else if (a == "--upgrade-from" && i + 1 < args.size()) {
      upgrade_from = args[++i];
    } else if (a == "-t") {
      test_only = true;
    } else if (a == "--version" || a == "-v") {
      printf("edgegate %s\nOpenSSL %s\nlibevent %s\nnghttp2 %s\n", EDGEGATE_VERSION,
             OpenSSL_version(OPENSSL_VERSION_STRING), event_get_version(), NGHTTP2_VERSION);
      return 0;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--debug") {
      edge::setLogLevel(edge::LogLevel::kDebug);
    } else {
      fprintf(stderr, "edgegate: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (test_only) return validate(config);

  auto loaded = edge::conf::loadConfigFile(config);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) fprintf(stderr, "%s\n", e.str().c_str());
    fprintf(stderr, "edgegate: configuration has errors, not starting\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  raiseFdLimit();
  // Loops receive work posted from other threads (reload, drain, admin).
  evthread_use_pthreads();
  edge::Server server(config, loaded.config);
  server.setPidFile(pid_file);
  server.setUpgradeFrom(upgrade_from);
  return server.run();
}
