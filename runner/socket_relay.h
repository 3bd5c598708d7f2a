// A unix socket that forwards every connection to another unix socket: how
// RUN --mount=type=ssh hands the build's ssh agent to a step. The step sees
// a socket of its own, with the owner and mode the mount asks for (BuildKit:
// uid 0, gid 0, mode 0600 unless given), whatever those of the agent's
// socket are; the agent's socket itself is never changed or exposed.
//
// Each accepted connection is relayed on a thread of its own
// (stream_relay.h) to a new connection to the agent. The destructor stops
// accepting, shuts every relayed connection down and joins the threads.
//
// Thread safety: a SocketRelay is used from one thread; its own threads
// are stopped and joined by the destructor.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runner/system_call.h"

namespace bld::runner {

class SocketRelay {
 public:
  // Listens at `path` (a new socket, owned by uid:gid with `mode`) and
  // forwards to the socket at `upstream`. Throws naming what failed.
  SocketRelay(const std::string& path, const std::string& upstream, uid_t uid, gid_t gid, mode_t mode);
  ~SocketRelay();
  SocketRelay(const SocketRelay&) = delete;
  SocketRelay& operator=(const SocketRelay&) = delete;

  const std::string& path() const { return path_; }

 private:
  void AcceptLoop();
  void Relay(int client, int agent);

  std::string path_;
  std::string upstream_;
  UniqueFd listener_;
  UniqueFd stop_;  // an eventfd, readable once stopping
  std::thread acceptor_;
  std::mutex mutex_;
  std::set<int> open_;  // relayed descriptors, shut down on stop
  std::vector<std::thread> relays_;
  bool stopping_ = false;
};

// Connects to the unix socket at `path`; an invalid descriptor if nothing
// listens there.
UniqueFd ConnectUnixSocket(const std::string& path);

}  // namespace bld::runner
