#pragma once
// Binary upgrade without a refused connection: a new edgegate takes the
// listening sockets of the running one over a Unix socket (SCM_RIGHTS), starts
// accepting on them, then sends the old process SIGTERM. The sockets never
// close in between, so nothing queued in their accept backlogs is lost (closing
// one socket of an SO_REUSEPORT group would reset what waits in its queue).
//
// The running process answers on the abstract Unix socket
// "\0edgegate-upgrade-<pid>", only to a peer of its own user (or root). Main
// threads only; the exchange is a few small blocking messages with timeouts.
#include <sys/types.h>

#include <string>
#include <vector>

#include "gateway/loop.h"

namespace edge::handoff {

struct Socket {
  std::string kind;  // "listener" | "admin"
  std::string name;  // the listener's name ("" for admin)
  std::string bind;  // as written in the config
  UniqueFd fd;
};

// Old process: the socket new processes connect to. Invalid on error.
UniqueFd listen(pid_t self, std::string* error);
// Old process: accepts one peer on `listener` and sends it the sockets (the
// fds stay owned by the caller). False when refused or failed.
bool serve(int listener, const std::vector<Socket>& sockets, std::string* peer, std::string* error);
// New process: receives the sockets of the process `pid`.
bool receive(pid_t pid, std::vector<Socket>& out, std::string* error);

// PID files: one decimal number and a newline.
pid_t readPidFile(const std::string& path, std::string* error);
bool writePidFile(const std::string& path, pid_t pid, std::string* error);
// Removes the file if it still names pid (a newer process may own it now).
void removePidFile(const std::string& path, pid_t pid);

}  // namespace edge::handoff
