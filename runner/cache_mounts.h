// The directories of RUN --mount=type=cache: kept in the store across
// builds, keyed by the mount's id, never part of a layer or a cache key.
//
//   <root>/cache-mounts/<sha256(id)>.lock   flock: shared by every lease of
//                                            the id, exclusive while removing it
//   <root>/cache-mounts/<sha256(id)>/id     the id as the Dockerfile gave it
//   <root>/cache-mounts/<sha256(id)>/<n>/   instance n: the cache's files
//   <root>/cache-mounts/<sha256(id)>/<n>.lock  flock of instance n
//
// A step leases the cache for as long as it runs, with BuildKit's sharing
// modes, by flock(2), so that they hold across bld processes and the kernel
// ends a lease whatever way its process dies:
//   shared   instance 0, locked shared: any number of steps at once;
//   locked   instance 0, locked exclusively: steps take turns;
//   private  the first instance no other step holds, locked exclusively: a
//            step never shares its cache; a new, empty instance is made when
//            every existing one is held.
// A new instance is made with the mount's mode, uid and gid (0755, 0, 0 by
// default) and stays exclusively locked for its first step, which may fill
// it (a cache mount's `from`) before anyone else sees it.
//
// `bld cache ls|rm|prune` and `bld prune --cache` list and remove caches; a
// cache leased by a running step is not removed. The empty .lock file of a
// removed id stays (removing it would race with a step that has it open).
//
// Thread safety: the functions and leases may be used from any thread and
// process at once; a lease belongs to one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runner/system_call.h"
#include "store/store.h"

namespace bld::runner {

enum class CacheSharing { kShared, kPrivate, kLocked };

// What a new instance's root directory gets.
struct CacheOwner {
  mode_t mode = 0755;
  uid_t uid = 0;
  gid_t gid = 0;
};

class CacheLease {
 public:
  CacheLease(CacheLease&&) noexcept = default;
  CacheLease& operator=(CacheLease&&) noexcept = default;

  // The instance's directory on the host.
  const std::string& path() const { return path_; }
  // True when this lease made the instance: it is empty and no one else
  // sees it before this lease ends.
  bool fresh() const { return fresh_; }

 private:
  friend class CacheMounts;
  CacheLease(UniqueFd id_lock, UniqueFd instance_lock, std::string path, bool fresh)
      : id_lock_(std::move(id_lock)), instance_lock_(std::move(instance_lock)), path_(std::move(path)), fresh_(fresh) {}

  UniqueFd id_lock_;
  UniqueFd instance_lock_;
  std::string path_;
  bool fresh_ = false;
};

struct CacheMountInfo {
  std::string id;
  size_t instances = 0;
  uint64_t size = 0;  // bytes in regular files
  bool in_use = false;
};

class CacheMounts {
 public:
  explicit CacheMounts(const store::Store& store);

  // Leases the cache `id` as `sharing` says, blocking while another step
  // holds it in a way that excludes this one.
  CacheLease Acquire(const std::string& id, CacheSharing sharing, const CacheOwner& owner = {});

  std::vector<CacheMountInfo> List() const;
  // Removes the cache `id`; throws if there is none or a step holds it.
  CacheMountInfo Remove(const std::string& id);
  // Removes every cache no step holds; returns them.
  std::vector<CacheMountInfo> Prune();

 private:
  std::string dir_;
};

}  // namespace bld::runner
