// The overlayfs mount that makes a container's root filesystem: snapshots
// (and the container's init layer) as read-only lowerdirs, a fresh upperdir
// that receives every change, and overlayfs's workdir.
//
// The upperdir must be the diff and nothing but the diff, because the layer
// writer reads it alone. So the mount turns off every feature that would make
// the upper dir depend on the lower ones: index=off, redirect_dir=off (a
// renamed directory is copied, as Docker does), metacopy=off (a chmod copies
// the data too), and xino=off (inode numbers are never encoded in xattrs).
// It is also `volatile`: the upper dir of a RUN container is thrown away if
// the machine crashes, so the fsyncs of package managers inside the
// container need not reach the disk (the layer made from it is fsynced by the
// blob store instead).
//
// How many layers fit: the legacy mount(2) takes its options in one page
// (4 KiB), ~60 lowerdirs of 64-hex names; fsconfig(2) with "lowerdir+"
// (Linux 6.8) adds one lowerdir per call and has no such limit (overlayfs
// stacks up to 500). Both are given paths relative to the directory that
// holds the bottom lowerdir (snapshots/), so that the length of the store
// root never counts. The mount uses "lowerdir+" where the kernel has it.
//
// Thread safety: MountOverlay changes the working directory of the process;
// call it only in a single-threaded process of its own, i.e. in the
// container's setup, never in bld itself.
#pragma once

#include <string>
#include <vector>

namespace bld::runner {

struct OverlayLayers {
  std::vector<std::string> lowerdirs;  // absolute, top first
  std::string upperdir;                // absolute
  std::string workdir;                 // absolute, on the same filesystem as upperdir
};

enum class OverlayMountApi {
  kBest,    // fsconfig with "lowerdir+" if the kernel knows it, else mount(2)
  kLegacy,  // mount(2) with all options in one string
};

// Mounts the overlay at `target` (an existing directory). Throws naming the
// step that failed.
void MountOverlay(const OverlayLayers& layers, const std::string& target, OverlayMountApi api = OverlayMountApi::kBest);

}  // namespace bld::runner
