// Garbage collection of a store (`bld prune`): everything that nothing
// reaches any more is removed, everything that something reaches stays.
//
// Live, and kept:
//  - every blob in the closure of every ref (manifests, configs, layers);
//  - the layer blobs named by build cache records (table cache, keys
//    "k:<key>", a JSON object whose "layers" array holds descriptors): a
//    cache hit must find its layers. Only the digests are read, so that the
//    store does not depend on the builder's record format beyond that array;
//  - the snapshots whose chain IDs the caller names (the runner knows which
//    snapshots the images use; the store cannot link runner/).
// Dead, and removed: every other blob with its records (table blobs, both
// diffID tables, and the hints other modules keep in table blobs under
// "<kind>/<digest>/..." keys, like registry/blob_sources.h), ingest files of
// writers that died, and every other snapshot with its record.
//
// Crash safety, at every step: index records go before the files they name,
// so a record never names a missing blob; a doomed snapshot directory is
// first renamed to "tmp-<hex>", the name of an abandoned unpack (see
// docs/store-format.md), so a half-removed snapshot never keeps a chain ID
// name, and the next prune's runner cleanup finishes it.
//
// The race with writers: from a writer's first blob to its ref, its blobs
// are reachable from nothing. So every command that writes blobs it will
// reference, or that uses snapshots, holds a GcLock shared for its whole
// run, and Prune runs only under a GcLock exclusive, which it demands as an
// argument. The lock is flock(2) on <root>/gc.lock: the kernel releases it
// when a holder dies, however it dies.
//
// Thread safety: a GcLock belongs to one thread; flock locks of one process
// taken through different GcLock objects conflict with each other as they
// do across processes, so a process must not take an exclusive lock while
// it holds a shared one. Prune may be called from any thread holding the
// exclusive lock.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <vector>

#include "store/blob_store.h"
#include "store/digest.h"
#include "store/store.h"

namespace bld::store {

class GcLock {
 public:
  enum class Mode { kShared, kExclusive };

  // Takes the lock, waiting for as long as it takes. `on_wait`, when given,
  // is called once before waiting if the lock is not free at once (to tell
  // the user why nothing happens).
  GcLock(const Store& store, Mode mode, const std::function<void()>& on_wait = nullptr);
  ~GcLock();
  GcLock(GcLock&& other) noexcept;
  GcLock& operator=(GcLock&&) = delete;
  GcLock(const GcLock&) = delete;
  GcLock& operator=(const GcLock&) = delete;

  Mode mode() const { return mode_; }

 private:
  int fd_ = -1;
  Mode mode_;
};

// What a prune removed.
struct PruneReport {
  std::vector<BlobInfo> blobs;
  std::vector<Digest> snapshots;  // chain IDs
  uint64_t snapshot_bytes = 0;    // apparent size of their files
  std::vector<IngestFile> ingest_leftovers;
  size_t records = 0;  // index records removed with the blobs

  uint64_t reclaimed_bytes() const;
};

// The blobs prune keeps: the closure of every ref and of every image in
// `images_in_use` (manifests other modules still need without a ref, like a
// container's image after `bld rmi`), and the layers of every build cache
// record. Throws when a ref's manifest is missing or malformed: then what
// that image needs is unknown, and nothing may be removed.
std::set<Digest> LiveBlobs(const Store& store, const std::vector<Descriptor>& images_in_use = {});

// Removes what is dead (see the top of this file). `lock` must be exclusive.
PruneReport Prune(Store& store, const GcLock& lock, const std::set<Digest>& snapshots_in_use,
                  const std::vector<Descriptor>& images_in_use = {});

}  // namespace bld::store
