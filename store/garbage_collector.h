// Garbage collection of a store (`bld prune`): everything that nothing
// reaches any more is removed, everything that something reaches stays.
//
// The store knows its own records only. What its users keep (the builder's
// cache records, the runner's snapshots, containers and scratch
// directories) they tell prune through a GcParticipant each, as
// containerd's clients tell its GC through labels and leases; `bld prune`
// (cli/store_commands.cc) passes the builder's and the runner's.
//
// Live, and kept:
//  - every blob in the closure of every ref (manifests, configs, layers);
//  - every blob in the closure of an image a participant names (a
//    container's image after `bld rmi`), and every blob it names alone (the
//    layers of a build cache record);
//  - every snapshot a participant names (a build cache record's layer whose
//    blob was never written): the one that sweeps snapshots sees the roots.
// Dead, and removed: every other blob with its records (table blobs, both
// diffID tables, and the hints other modules keep in table blobs under
// "<kind>/<digest>/..." keys, like registry/blob_sources.h), and ingest files
// of writers that died. Then each participant sweeps what it owns (its
// snapshots, its leftovers of dead processes) and adds it to the report.
//
// Crash safety, at every step: index records go before the files they name,
// so a record never names a missing blob; participants keep the same rule.
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
#include <string>
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
  std::vector<Digest> snapshots;  // chain IDs, removed by a participant
  uint64_t snapshot_bytes = 0;    // apparent size of their files
  std::vector<IngestFile> ingest_leftovers;
  // Directories participants removed that processes which died left behind.
  std::vector<std::string> leftovers;
  size_t records = 0;  // index records removed with the blobs

  uint64_t reclaimed_bytes() const;
};

// What a participant keeps alive.
struct GcRoots {
  struct Image {
    Descriptor manifest;  // a manifest or an index, whose closure stays
    std::string user;     // for errors: "a container"
  };
  std::vector<Image> images;
  std::set<Digest> blobs;  // single blobs, kept whatever they are
  // Chain IDs of snapshots kept whatever image uses them.
  std::set<Digest> snapshots;
};

// A module that keeps things in the store prune must know of.
class GcParticipant {
 public:
  virtual ~GcParticipant() = default;

  // Adds what the module keeps alive. Called before anything is removed;
  // an exception stops the prune with nothing removed.
  virtual void AddRoots(const Store& store, GcRoots& roots) const = 0;
  // Removes what the module owns and no longer needs, once the dead blobs
  // are gone, and adds it to `report`. The blobs of every ref and root are
  // still there; `roots` is what every participant added.
  virtual void Sweep(Store& store, const GcRoots& roots, PruneReport& report) = 0;
};

// What the participants keep, each adding to the same roots.
GcRoots CollectRoots(const Store& store, const std::vector<GcParticipant*>& participants);

// The blobs prune keeps: the closure of every ref and of every image in
// `roots`, and the blobs it names. Throws when such a manifest is missing or
// malformed: then what that image needs is unknown, and nothing may be
// removed.
std::set<Digest> LiveBlobs(const Store& store, const GcRoots& roots = {});

// Removes what is dead (see the top of this file). `lock` must be exclusive.
PruneReport Prune(Store& store, const GcLock& lock, const std::vector<GcParticipant*>& participants = {});

}  // namespace bld::store
