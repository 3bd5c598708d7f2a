// COPY, ADD and WORKDIR's mkdir: changing an image's files without running
// anything inside it (the image may have no shell at all: FROM scratch).
//
// The parent prepares a FilePlan: every entry to create, with its source
// (a build-context path, bytes such as a heredoc, or an archive to unpack)
// and its metadata. The plan comes from the same walk that hashed the
// sources for the cache key, so what is copied is exactly what was hashed.
// ApplyFilePlan then forks a child that takes a private mount namespace,
// mounts the image's overlay root over a fresh upper directory, opens the
// build context, chroots into the root and carries out the plan. Inside the
// chroot, destination paths resolve as the image sees them (its symlinks
// included) and can never reach the host; sources are opened beneath the
// context directory with RESOLVE_BENEATH and no symlinks. The child's exit
// takes the mount with it; the upper directory is the layer.
//
// Thread-safety: ApplyFilePlan may run from several threads at once.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "runner/snapshotter.h"
#include "store/layer_writer.h"
#include "store/store.h"

namespace bld::builder {

struct FileOp {
  // kFromImage: `source_path` (a path or wildcard) in the root of the plan's
  // source image, copied with its owners, modes and times (COPY --from).
  enum class Type { kDirectory, kFile, kSymlink, kArchive, kFromImage };
  Type type = Type::kFile;
  std::string dest;         // absolute path in the image
  std::string context_path; // kFile/kArchive from the context: relative to its root
  std::optional<std::string> content;  // kFile with inline bytes (a heredoc)
  int source_fd = -1;       // kFile read from this descriptor (a download)
  std::string source_path;  // kFromImage
  // kFile/kFromImage: when `dest` is an existing directory in the image, the
  // entry goes inside it under this name (`COPY file /app` with /app a dir).
  std::string basename_if_dir;
  std::string link_target;  // kSymlink
  mode_t mode = 0644;       // permission bits (and setuid/setgid/sticky)
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  // kDirectory: a directory already there keeps its owner, mode and times
  // (the destination of `COPY dir/ /app/`, whose contents are copied).
  bool keep_existing = false;
};

struct FilePlan {
  std::vector<FileOp> ops;
  // Missing parent directories of every destination are made 0755.
  // `owner`: a USER-style spec (--chown, or WORKDIR's current USER) applied
  // to every entry written and every directory made, resolved in the image's
  // /etc/passwd and /etc/group; empty: keep each op's uid/gid.
  std::string owner;
  std::optional<mode_t> chmod;  // --chmod: replaces the mode of every entry written
  int context_fd = -1;          // directory fd of the build context root (for context_path)
  std::vector<runner::LayerRef> source_layers;  // the image kFromImage ops copy from
};

// Carries out `plan` on the image made of `layers` and returns the layer of
// what changed (nullopt when nothing did). Throws bld::Error naming what
// failed.
std::optional<store::LayerInfo> ApplyFilePlan(store::Store& store, const std::vector<runner::LayerRef>& layers,
                                              const FilePlan& plan, const store::LayerWriteOptions& options);

}  // namespace bld::builder
