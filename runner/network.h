// Networks a container can have.
//
// kHost shares the host's network namespace: the default of `docker build`,
// and what a RUN step needs to download packages. kNone gives the container
// a namespace of its own holding only the loopback interface, brought up so
// that programs that talk to themselves over 127.0.0.1 still work (Docker's
// --network=none does the same); it is also what `bld run` gives by default,
// reached from the host only through published ports (port_forwarder.h).
// kJoin enters the namespace of another container (`--net container:<id>`),
// so both reach each other on 127.0.0.1.
//
// Thread safety: the functions act on the calling thread's network namespace
// (setns(2) with CLONE_NEWNET is per thread) and keep no state.
#pragma once

#include <string>

#include "runner/system_call.h"

namespace bld::runner {

enum class NetworkMode { kHost, kNone, kJoin };

// Sets IFF_UP on "lo" in the current network namespace.
void BringUpLoopback();

// A descriptor of the network namespace of process `pid` (its
// /proc/<pid>/ns/net), to join with JoinNetworkNamespace.
UniqueFd OpenNetworkNamespace(pid_t pid);

// Moves the calling thread into the network namespace `ns_fd`.
void JoinNetworkNamespace(int ns_fd);

}  // namespace bld::runner
