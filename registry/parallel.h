// The bounded parallelism of pulls and pushes: a few blobs in flight at once,
// as docker's max-concurrent-downloads/uploads, and the first failure stops
// the rest.
//
// Thread safety: ParallelFor runs fn on several threads at once; fn must be
// safe for that.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

namespace bld::registry {

// Runs fn(i) for every i in [0, count) on up to `workers` threads, the
// caller's among them. After the first exception no new item starts,
// `cancel` is set (so that running transfers can give up early), and once
// every thread has stopped that exception is rethrown.
void ParallelFor(size_t count, int workers, std::atomic<bool>& cancel, const std::function<void(size_t)>& fn);

}  // namespace bld::registry
