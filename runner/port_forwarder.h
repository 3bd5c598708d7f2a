// Published ports (`-p 8080:80`, `-p 127.0.0.1:5353:53/udp`): a userspace
// proxy that listens on the host and opens each connection inside the
// container's network namespace.
//
// A socket belongs to the network namespace of the thread that creates it,
// whichever thread uses it later. So the listening sockets are made first, on
// the host (so that a port already taken fails `bld run` before the
// container starts, as Docker's "port is already allocated"), and the
// forwarding threads then move into the container's namespace with setns(2)
// (which moves only the calling thread) and create there the sockets that
// connect to 127.0.0.1:<container port>. No bridge, veth or iptables rule is
// needed, and nothing is left on the host when the monitor dies: the
// listeners are its descriptors.
//
// TCP: one thread per port accepts; one thread per connection relays both
// directions and passes each half-close on. UDP: one thread per port keeps
// one container-side socket per client address, so replies go back to the
// client that asked.
//
// Thread safety: a PortForwarder is used from one thread; its own threads
// are stopped and joined by the destructor.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "runner/container_state.h"
#include "runner/system_call.h"

namespace bld::runner {

// Parses `[IP:]HOST:CTR[/tcp|/udp]`; throws with Docker's wording.
PortMapping ParsePortMapping(std::string_view spec);

class PortForwarder {
 public:
  // Binds and listens on every host port.
  explicit PortForwarder(const std::vector<PortMapping>& ports);
  ~PortForwarder();
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  // Starts forwarding into the network namespace `netns` (a descriptor of
  // /proc/<pid>/ns/net), which the forwarder keeps.
  void Start(UniqueFd netns);

 private:
  struct Listener {
    PortMapping port;
    UniqueFd fd;
  };
  void AcceptLoop(const Listener& listener);
  void RelayTcp(int client, int upstream);
  void RelayUdp(const Listener& listener);
  // The container-side socket of a new connection, created in this thread's
  // (the container's) namespace.
  UniqueFd ConnectInside(const PortMapping& port, int type);
  void Untrack(int fd);

  std::vector<Listener> listeners_;
  UniqueFd netns_;
  UniqueFd stop_;  // an eventfd, readable once stopping
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable relays_done_;
  std::set<int> open_;  // relayed sockets, shut down on stop
  size_t relays_ = 0;
  bool stopping_ = false;
};

}  // namespace bld::runner
