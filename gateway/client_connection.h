#pragma once
// What a Worker owns for each accepted client socket, whatever the protocol
// spoken on it (HTTP/1.1 or HTTP/2). Loop thread only.
#include "gateway/loop.h"

namespace edge {

class ClientConnection : public Deletable {
 public:
  // Drain (SIGTERM): finish what is in flight, accept nothing new, then close.
  virtual void drain() = 0;
};

}  // namespace edge
