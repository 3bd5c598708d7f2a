// The init layer: a small directory, made for each container and stacked as
// its topmost lowerdir, that holds the paths the runner mounts over.
//
// A mount needs an existing directory or file to land on. Made in the upper
// dir, these would end up in the RUN step's layer (an empty /etc/hosts, a
// /proc directory in an image that had none); made in the init layer, which
// overlayfs reads but never writes, they never reach a diff. Docker's
// overlay2 driver keeps its `<id>-init` layer for the same reason.
//
// The directories the init layer adds on top of the image (/etc, /dev, ...)
// mirror the image's own: overlayfs shows the attributes of the topmost
// layer holding a directory, and copies them into the upper dir when the
// container writes inside it, so a bare 0755 root-owned /etc here would show
// in `ls -ld /etc` and leak into the layer of `RUN touch /etc/x`. Each is
// given the mode, owner, extended attributes and times of the directory the
// lowerdirs show at that path (whiteouts and opaque directories honoured),
// and 0755 root-owned when they show none.
//
// RUN --mount targets get their mount points here for the same reason: a
// cache at /var/cache/apt or a secret at /run/secrets/token leaves no
// /var/cache/apt or /run/secrets in the step's layer unless the image had
// them. Their directories mirror the image's in the same way.
//
// Thread safety: CreateInitLayer keeps no state; calls on different
// directories are independent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bld::runner {

// Relative to the root; parents before children.
inline constexpr std::string_view kInitLayerDirectories[] = {"proc", "sys", "dev", "dev/pts", "dev/shm", "etc"};
// Empty files, bind-mount targets for the generated ones.
inline constexpr std::string_view kInitLayerFiles[] = {"etc/hosts", "etc/resolv.conf", "etc/hostname"};

// A RUN --mount target: a path already resolved in the image
// (ResolveInLowers), and whether a directory or a file is mounted there.
struct MountPoint {
  std::string path;  // absolute
  bool directory = true;
};

// Fills `dir` (an existing empty directory) with the init layer for a root
// filesystem made of `lowerdirs` (top first), and the mount points of
// `mount_points` with the directories on their way. Throws when the image
// has a file where a directory is needed, or the other way round.
void CreateInitLayer(const std::string& dir, const std::vector<std::string>& lowerdirs,
                     const std::vector<MountPoint>& mount_points = {});

}  // namespace bld::runner
