#include "gateway/listener_handoff.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace edge::handoff {
namespace {

constexpr int kTimeoutSeconds = 5;
constexpr size_t kMaxMessage = 1024;

socklen_t addressFor(pid_t pid, sockaddr_un* sa) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  // Abstract namespace (leading NUL): no file to clean up after a crash.
  int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "edgegate-upgrade-%d",
                   static_cast<int>(pid));
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

void setTimeouts(int fd) {
  timeval tv{kTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string errnoText(const char* what) {
  return std::string(what) + ": " + strerror(errno);
}

// One message: a text line, and at most one descriptor.
bool sendOne(int conn, const std::string& text, int fd, std::string* error) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  if (sendmsg(conn, &msg, MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) {
    *error = errnoText("sendmsg");
    return false;
  }
  return true;
}

bool receiveOne(int conn, std::string& text, UniqueFd& fd, std::string* error) {
  char buf[kMaxMessage];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  if (n <= 0) {
    *error = n == 0 ? "the running process closed the hand-off early" : errnoText("recvmsg");
    return false;
  }
  text.assign(buf, static_cast<size_t>(n));
  fd.reset();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int received = -1;
      memcpy(&received, CMSG_DATA(c), sizeof received);
      fd.reset(received);
    }
  }
  if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
    *error = "a hand-off message was truncated";
    return false;
  }
  return true;
}

}  // namespace

UniqueFd listen(pid_t self, std::string* error) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *error = errnoText("socket");
    return fd;
  }
  sockaddr_un sa;
  socklen_t len = addressFor(self, &sa);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(fd.get(), 4) != 0) {
    *error = errnoText("bind");
    return UniqueFd();
  }
  return fd;
}

bool serve(int listener, const std::vector<Socket>& sockets, std::string* peer,
           std::string* error) {
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) {
    *error = errnoText("accept");
    return false;
  }
  setTimeouts(conn.get());
  // Listening sockets are the keys to the service: only our own user (or root) gets them.
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    *error = errnoText("SO_PEERCRED");
    return false;
  }
  *peer = "pid " + std::to_string(cred.pid);
  if (cred.uid != geteuid() && cred.uid != 0) {
    *error = "refused: the peer runs as uid " + std::to_string(cred.uid);
    return false;
  }
  for (const auto& s : sockets) {
    if (!sendOne(conn.get(), s.kind + "\n" + s.name + "\n" + s.bind + "\n", s.fd.get(), error))
      return false;
  }
  if (!sendOne(conn.get(), "end\n", -1, error)) return false;
  // The peer's "ok" says it holds the sockets: our copies may close from now on.
  char ack[8];
  ssize_t n = ::recv(conn.get(), ack, sizeof ack, 0);
  if (n < 2 || memcmp(ack, "ok", 2) != 0) {
    *error = "the new process did not confirm the hand-off";
    return false;
  }
  return true;
}

bool receive(pid_t pid, std::vector<Socket>& out, std::string* error) {
  UniqueFd conn(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!conn) {
    *error = errnoText("socket");
    return false;
  }
  setTimeouts(conn.get());
  sockaddr_un sa;
  socklen_t len = addressFor(pid, &sa);
  if (::connect(conn.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    *error =
        errnoText(("connect to the running edgegate (pid " + std::to_string(pid) + ")").c_str());
    return false;
  }
  for (;;) {
    std::string text;
    UniqueFd fd;
    if (!receiveOne(conn.get(), text, fd, error)) return false;
    if (text == "end\n") break;
    std::istringstream in(text);
    Socket s;
    std::getline(in, s.kind);
    std::getline(in, s.name);
    std::getline(in, s.bind);
    if (!fd || (s.kind != "listener" && s.kind != "admin")) {
      *error = "unexpected hand-off message";
      return false;
    }
    s.fd = std::move(fd);
    out.push_back(std::move(s));
  }
  if (::send(conn.get(), "ok", 2, MSG_NOSIGNAL) != 2) {
    *error = errnoText("send");
    return false;
  }
  return true;
}

pid_t readPidFile(const std::string& path, std::string* error) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) {
    *error = "cannot read a process id from " + path;
    return -1;
  }
  return static_cast<pid_t>(pid);
}

bool writePidFile(const std::string& path, pid_t pid, std::string* error) {
  // Written aside and renamed: a reader never sees a half-written number.
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << pid << "\n";
    if (!out.flush()) {
      *error = "cannot write " + tmp;
      return false;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = errnoText(("rename to " + path).c_str());
    return false;
  }
  return true;
}

void removePidFile(const std::string& path, pid_t pid) {
  std::string ignored;
  if (readPidFile(path, &ignored) == pid) ::unlink(path.c_str());
}

}  // namespace edge::handoff
