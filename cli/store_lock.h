// The store's garbage-collection lock as commands take it (see
// store/garbage_collector.h): every command that writes blobs it will
// reference or a ref (build, pull, import, load, tag, commit), or that
// reads blobs a prune could remove under it (save, check), holds it shared
// for its whole run; `bld prune` holds it exclusive. When the lock is not
// free at once, the user is told on stderr what is being waited for.
#pragma once

#include "store/garbage_collector.h"
#include "store/store.h"

namespace bld::cli {

store::GcLock LockStoreShared(const store::Store& store);
store::GcLock LockStoreExclusive(const store::Store& store);

}  // namespace bld::cli
