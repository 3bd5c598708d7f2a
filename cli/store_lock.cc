#include "cli/store_lock.h"

#include <cstdio>

namespace bld::cli {

store::GcLock LockStoreToCheck(const store::Store& store) {
  return store::GcLock(store, store::GcLock::Mode::kShared,
                       [] { std::fprintf(stderr, "waiting for a bld prune of this store to finish...\n"); });
}

store::GcLock LockStoreShared(const store::Store& store) {
  store::GcLock lock = LockStoreToCheck(store);
  store.blobs().RemoveIngestLeftovers();
  return lock;
}

store::GcLock LockStoreExclusive(const store::Store& store) {
  return store::GcLock(store, store::GcLock::Mode::kExclusive, [] {
    std::fprintf(stderr, "waiting for the other bld commands using this store to finish...\n");
  });
}

}  // namespace bld::cli
