// A file step's plan: the entries a COPY, ADD or WORKDIR writes into an
// image's root, prepared by the builder and carried out by the runner inside
// a container made for it (file_step.h), so that destination paths resolve
// as the image sees them (its symlinks included) and never reach the host.
//
// Each op says what to create (a directory, a file from the build context,
// from bytes or from an open descriptor, a symlink, an archive to unpack, or
// a path copied from another image) and with which metadata. The plan comes
// from the same walk that hashed the sources for the step's cache key, so
// what is copied is exactly what was hashed.
//
// Descriptors in a plan (context_fd, source_fd) belong to the caller and stay
// open until the step ends; the runner hands them to the container.
//
// Thread-safety: values.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "runner/snapshotter.h"

namespace bld::runner {

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
  std::vector<LayerRef> source_layers;  // the image kFromImage ops copy from
};

}  // namespace bld::runner
