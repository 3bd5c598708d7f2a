// RUN --mount inside the container's init: what to mount for each mount of
// the step (a MountPlan, prepared by bld in run_mounts.h and carried in the
// InitPlan), in two steps around pivot_root, as the volumes of bind_mounts.h:
//
//  1. OpenRunMounts, before pivot_root, while host paths can be reached:
//     mounts each source tree's overlay (a stage, an image or the build
//     context, with a throwaway upper dir so that writes to an `rw` bind are
//     discarded), fills a new cache from its `from`, writes each secret into
//     a tmpfs of its own (never onto a disk), and clones the part to mount
//     into a detached mount (open_tree(2)), made read-only where asked. The
//     source path inside a tree is opened with RESOLVE_IN_ROOT: a symlink in
//     a stage or the context cannot lead the mount out of it.
//  2. AttachRunMounts, after pivot_root: attaches each clone (move_mount(2))
//     and mounts each tmpfs at its target, parents before children.
//
// Targets are resolved in the image before the container starts, and their
// mount points are in the init layer (init_layer.h), so nothing of a mount
// reaches the step's layer. Every mount lives in the container's mount
// namespace and ends with it.
//
// Thread safety: call only in the container's single-threaded setup process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runner/overlay.h"
#include "runner/system_call.h"

namespace bld::runner {

struct MountPlan {
  enum class Kind { kTree, kTmpfs, kFile };
  Kind kind = Kind::kTree;
  std::string target;      // in the container, resolved in the image
  bool directory = true;   // what is mounted there: a directory, or a file
  bool read_only = false;
  // kTree: the tree's root on the host: a directory or a socket, or where
  // `overlay` is mounted first; `path` is the part mounted (inside root).
  std::string root;
  std::optional<OverlayLayers> overlay;
  std::string path;
  // kTree, a new cache: filled first with `seed_path` of the tree `seed`
  // (mounted at `seed_root`).
  std::optional<OverlayLayers> seed;
  std::string seed_root;
  std::string seed_path;
  uint64_t size = 0;  // kTmpfs: bytes; 0: the kernel's default (half the RAM)
  // kFile: the file's bytes (a secret), owner and mode; written to a tmpfs
  // mounted at `root` (a host directory, empty).
  std::string content;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct OpenMount {
  const MountPlan* plan = nullptr;
  UniqueFd clone;  // kTree, kFile: the detached mount
};

std::vector<OpenMount> OpenRunMounts(const std::vector<MountPlan>& plans);
void AttachRunMounts(const std::vector<OpenMount>& mounts);

}  // namespace bld::runner
