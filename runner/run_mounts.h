// RUN --mount for the runner: what a step asks to have mounted (StepMount,
// made by the builder from the Dockerfile), and the host-side preparation
// of it for the container (PreparedMounts), which RunStep holds while the
// step runs:
//   bind    a tree: a stage's or image's layers (unpacked as snapshots), or
//           the build context minus what .dockerignore leaves out (hidden by
//           whiteouts over the context directory); mounted through an
//           overlay with a throwaway upper dir, read-only unless `rw`
//   cache   a lease on the cache's directory (cache_mounts.h) for the step;
//           a new cache is first filled from its `from` tree
//   tmpfs   a tmpfs of `size`
//   secret  the value as a read-only file in a tmpfs of its own
//   ssh     a socket of the step's own that forwards to the agent
//           (socket_relay.h), with the owner and mode asked for
// Each mount gets a directory under the container's, <dir>/mounts/<n>/,
// removed with it. The mounts are sorted by target, parents first, as
// BuildKit mounts them.
//
// Thread safety: PreparedMounts belongs to one thread; Prepare may run on
// several threads at once (leases and snapshots are safe for that).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/cache_mounts.h"
#include "runner/run_mount_plan.h"
#include "runner/snapshotter.h"
#include "runner/socket_relay.h"
#include "store/store.h"

namespace bld::runner {

// A tree a mount shows: a stage's or an image's files, or the build context.
struct MountTree {
  bool from_context = false;
  std::vector<LayerRef> layers;      // a stage or image, base first (none: FROM scratch)
  std::string context_dir;           // the context's root on the host
  std::vector<std::string> hidden;   // context paths .dockerignore leaves out, relative to its root
  std::string path;                  // the part shown, relative to the tree's root ("" all of it)
};

struct StepMount {
  enum class Type { kBind, kCache, kTmpfs, kSecret, kSsh };
  Type type = Type::kBind;
  std::string target;  // absolute, in the container (WORKDIR applied)
  bool read_only = false;
  std::optional<MountTree> tree;  // kBind: what is mounted; kCache: what a new cache starts with
  std::string cache_id;           // kCache
  CacheSharing sharing = CacheSharing::kShared;
  std::string cache_path;         // kCache: the part of the cache shown ("" all of it)
  uint64_t size = 0;              // kTmpfs: bytes, 0 for the kernel's default
  std::string secret;             // kSecret: the value
  std::string agent_socket;       // kSsh: the agent's socket on the host
  // A new cache's root directory, the secret file, the ssh socket; unset:
  // BuildKit's defaults (0755, 0400 and 0600, owned by 0:0).
  std::optional<uint32_t> mode, uid, gid;
};

class PreparedMounts {
 public:
  PreparedMounts() = default;
  PreparedMounts(PreparedMounts&&) noexcept = default;
  PreparedMounts& operator=(PreparedMounts&&) noexcept = default;

  // Leases the caches, unpacks the trees' layers, starts the ssh relays and
  // makes each mount's directory under `container_dir`.
  static PreparedMounts Prepare(store::Store& store, const std::string& container_dir,
                                const std::vector<StepMount>& mounts);

  // For the container: targets not yet resolved in the image (container.h
  // does that when it makes the init layer).
  const std::vector<MountPlan>& plans() const { return plans_; }

 private:
  std::vector<CacheLease> leases_;
  std::vector<std::unique_ptr<SocketRelay>> relays_;
  std::vector<MountPlan> plans_;
};

}  // namespace bld::runner
