// The store's garbage-collection lock as commands take it (see
// store/garbage_collector.h): every command that writes blobs it will
// reference or a ref (build, pull, import, load, tag, commit, run), or that
// reads blobs a prune could remove under it (save), holds it shared for its
// whole run; `bld prune` holds it exclusive. When the lock is not free at
// once, the user is told on stderr what is being waited for.
//
// Taking it shared also removes what commands that died left in ingest/
// (their flock is free, so their owner is gone: store/blob_store.h), so
// that a redo after a kill leaves a store `bld check` finds clean, without
// waiting for a prune. `bld check` itself takes it without cleaning: it
// reports what it finds.
#pragma once

#include "store/garbage_collector.h"
#include "store/store.h"

namespace bld::cli {

store::GcLock LockStoreShared(const store::Store& store);
// Shared, leaving ingest/ as it is.
store::GcLock LockStoreToCheck(const store::Store& store);
store::GcLock LockStoreExclusive(const store::Store& store);

}  // namespace bld::cli
