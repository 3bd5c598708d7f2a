#include "runner/lower_lookup.h"

#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>



#include "runner/root_path.h"
#include "runner/system_call.h"

namespace bld::runner {

namespace {

constexpr const char* kOverlayOpaqueXattr = "trusted.overlay.opaque";

bool IsWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool IsOpaque(const std::string& path) {
  char value;
  return ::lgetxattr(path.c_str(), kOverlayOpaqueXattr, &value, 1) == 1 && value == 'y';
}

}  // namespace

std::optional<LowerEntry> LookUpInLowers(const std::vector<std::string>& lowerdirs, std::string_view rel) {
  std::vector<std::string> parts = PathComponents(rel);
  // The layers whose directory at the current prefix is part of the merged
  // directory, top first.
  std::vector<std::string> layers = lowerdirs;
  std::string prefix;
  for (size_t i = 0; i < parts.size(); ++i) {
    prefix += "/" + parts[i];
    bool last = i + 1 == parts.size();
    std::vector<std::string> below;
    for (const std::string& layer : layers) {
      std::string path = layer + prefix;
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) throw RunnerSysError("inspect " + path);
        continue;
      }
      if (IsWhiteout(st)) break;
      if (last && below.empty()) return LowerEntry{path, st};
      // A non-directory on the way: nothing lies under it, and it hides
      // the layers below (under a directory of a higher layer, it is hidden).
      if (!S_ISDIR(st.st_mode)) break;
      below.push_back(layer);
      if (IsOpaque(path)) break;
    }
    if (below.empty()) return std::nullopt;
    layers = std::move(below);
  }
  // Only the root itself gets here: the top layer's.
  struct stat st;
  if (lowerdirs.empty() || ::lstat(lowerdirs.front().c_str(), &st) != 0) return std::nullopt;
  return LowerEntry{lowerdirs.front(), st};
}

std::string ResolveInLowers(const std::vector<std::string>& lowerdirs, const std::string& path) {
  auto link_of = [&](const std::string& rel) -> std::optional<std::string> {
    std::optional<LowerEntry> entry = LookUpInLowers(lowerdirs, rel);
    if (!entry || !S_ISLNK(entry->st.st_mode)) return std::nullopt;
    std::string target(static_cast<size_t>(entry->st.st_size) + 1, '\0');
    ssize_t n = ::readlink(entry->path.c_str(), target.data(), target.size());
    if (n < 0) throw RunnerSysError("read symlink " + entry->path);
    target.resize(static_cast<size_t>(n));
    return target;
  };
  return "/" + ResolveInRoot(path, true, link_of, path + " in the image");
}

}  // namespace bld::runner
