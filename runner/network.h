// Networks a container can have.
//
// kHost shares the host's network namespace: the default of `docker build`,
// and what a RUN step needs to download packages. kNone gives the container
// a namespace of its own holding only the loopback interface, brought up so
// that programs that talk to themselves over 127.0.0.1 still work (Docker's
// --network=none does the same).
//
// Thread safety: BringUpLoopback acts on the calling thread's network
// namespace and keeps no state.
#pragma once

namespace bld::runner {

enum class NetworkMode { kHost, kNone };

// Sets IFF_UP on "lo" in the current network namespace.
void BringUpLoopback();

}  // namespace bld::runner
