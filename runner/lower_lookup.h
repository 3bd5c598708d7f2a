// What an overlay of read-only layers shows at a path, read from the layer
// directories on the host without mounting anything: the topmost layer
// that has the entry, unless a layer above deletes it (a whiteout),
// replaces a directory on the way with something else, or hides the layers
// under a directory (an opaque directory); and a path with its symlinks
// resolved as the image resolves them, inside its root.
//
// The runner uses it before a container starts: the init layer's
// directories mirror the image's (init_layer.h), and a RUN --mount target
// is resolved in the image so that its mount point is made along the path
// the kernel will follow, never over a symlink.
//
// Thread safety: the functions keep no state.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bld::runner {

struct LowerEntry {
  std::string path;  // the entry's path on the host, in the layer that shows it
  struct stat st;
};

// The entry shown at `rel` (relative to the root, no symlinks followed) by
// the overlay of `lowerdirs` (top first); nullopt when there is none.
std::optional<LowerEntry> LookUpInLowers(const std::vector<std::string>& lowerdirs, std::string_view rel);

// `path` (absolute) with `.`, `..` and every symlink on the way, the last
// component included, resolved in the overlay of `lowerdirs` as if its root
// were `/` (`..` stops there). Components that do not exist are kept as
// written. Returns an absolute path; throws after 40 links, as Linux does.
std::string ResolveInLowers(const std::vector<std::string>& lowerdirs, const std::string& path);

}  // namespace bld::runner
