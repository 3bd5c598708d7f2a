// What a pull or push reports while it runs, for cli to render as docker
// does (a line per layer, progress bars on a terminal) and for the builder to
// forward. Lower layers never print; they call this.
//
// Events about a layer carry its digest; cli shows the short form, as docker
// shows the first 12 hex digits. The callback is called from the transfer's
// worker threads, but never by two at once: the library serializes the
// calls, so a renderer needs no lock of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "store/digest.h"

namespace bld::registry {

struct TransferEvent {
  enum class Kind {
    kResolved,   // pull: the reference resolved to `digest` (the tag's manifest or index)
    kQueued,     // a layer waits its turn ("Pulling fs layer", "Preparing")
    kProgress,   // `current` of `total` bytes moved ("Downloading", "Pushing")
    kVerifying,  // pull: the layer is in, its diffID being checked ("Verifying Checksum")
    kDone,       // "Download complete", "Pushed"
    kExists,     // already in the store or the registry ("Already exists", "Layer already exists")
    kMounted,    // push: mounted from the repository in `detail` ("Mounted from ...")
    kRetrying,   // a transient failure; `detail` says what failed and when it is tried again
  };
  Kind kind;
  store::Digest digest;
  uint64_t current = 0;
  uint64_t total = 0;
  std::string detail;
};

using TransferEvents = std::function<void(const TransferEvent&)>;

}  // namespace bld::registry
