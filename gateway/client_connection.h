#pragma once
// What a Worker owns for each accepted client socket, whatever the protocol
// spoken on it (HTTP/1.1 or HTTP/2). Loop thread only.
#include <string>

#include "gateway/loop.h"

namespace edge {

class ClientConnection : public Deletable {
 public:
  // Drain (SIGTERM): finish what is in flight, accept nothing new, then close.
  // Also when a reload removes its listener: HTTP/1.1 answers the next request
  // with `Connection: close`, HTTP/2 sends GOAWAY.
  virtual void drain() = 0;

  // The name of the listener that accepted it (the Worker's, which outlives it).
  const std::string* listener = nullptr;
};

}  // namespace edge
