// Volumes and host directories mounted into a container (`-v`), in two steps
// around pivot_root.
//
// A bind source is a host path, and after pivot_root no host path can be
// reached; a target is a path inside the image, which must be resolved in
// the container's root (an image's symlink /data -> /etc must not lead the
// mount onto the host's /etc). So each source is cloned before pivot_root
// into a detached mount (open_tree(2) with OPEN_TREE_CLONE; made read-only
// there with mount_setattr(2) for `:ro`), and the targets are created and
// the clones attached (move_mount(2)) after it, where "/" is the
// container's root and every symlink resolves inside it. (A plain bind of
// /proc/self/fd/<n> would fail: its source lies in the host's root, which
// pivot_root detached from the namespace.)
//
// A new volume is first filled with what the image holds at its target, as
// Docker does: `-v /var/lib/mysql` starts with the image's files, owners and
// modes. The mount points are created in the container's root, that is in its
// upper dir, so a commit keeps them as empty directories; what is written
// inside them goes to the volume and never into a layer.
//
// Thread safety: call only in the container's single-threaded setup process.
#pragma once

#include <vector>

#include "runner/container.h"
#include "runner/system_call.h"

namespace bld::runner {

struct OpenBind {
  BindMount bind;
  UniqueFd source;  // the detached clone of the source's mount
  bool directory = false;
};

// Opens every source; throws naming the one that cannot be opened.
std::vector<OpenBind> OpenBindSources(const std::vector<BindMount>& binds);

// After pivot_root: creates the target (a directory, or an empty file for a
// file source), fills an empty copy-up source from it, and mounts.
void MountBind(const OpenBind& bind);

// mkdir -p of `target`, or of its parent and an empty file at `target`, in
// the current root (after pivot_root: the container's).
void MakeMountPoint(const std::string& target, bool directory);

// Creates the mount point `target` in the current root, with missing
// parents (0755): a directory, or an empty file.
void MakeMountPoint(const std::string& target, bool directory);

// Copies the tree under `from` into `to` (both directory descriptors):
// regular files, directories, symlinks, device nodes and FIFOs, with owners,
// modes and times.
void CopyTree(int from, int to);

}  // namespace bld::runner
