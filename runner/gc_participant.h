// What the runner keeps in the store, told to `bld prune` through the
// store's GcParticipant interface (store/garbage_collector.h):
//  - roots: the image of every container. A container needs its image's
//    layers as long as it exists (to run again, to be committed), even
//    after `bld rmi` untagged the image.
//  - sweep: every snapshot that neither an image a ref names nor a
//    container's image uses (on this host's platform, the only one bld
//    unpacks) nor another participant keeps (GcRoots::snapshots: the build
//    cache's lazy layers), with its record; then the directories of
//    containers and unpacks whose process died (RemoveAbandonedRunnerDirs).
//
// Crash safety: snapshot records go before their directories, and a doomed
// snapshot directory is first renamed to "tmp-<hex>", the name of an
// abandoned unpack (runner/snapshotter.h), so a half-removed snapshot never
// keeps a chain ID name, and the next prune's cleanup of abandoned unpacks
// finishes it.
//
// Thread safety: as store::Prune, which calls it under the exclusive lock.
#pragma once

#include <set>

#include "store/garbage_collector.h"

namespace bld::runner {

class RunnerGcParticipant : public store::GcParticipant {
 public:
  void AddRoots(const store::Store& store, store::GcRoots& roots) const override;
  void Sweep(store::Store& store, const store::GcRoots& roots, store::PruneReport& report) override;

  // The chain IDs of every layer of every image a ref or a container uses.
  static std::set<store::Digest> SnapshotsInUse(const store::Store& store);
};

}  // namespace bld::runner
