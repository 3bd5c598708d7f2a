#include "runner/init_layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <optional>

#include "runner/system_call.h"

namespace bld::runner {

namespace {

constexpr mode_t kDefaultDirMode = 0755;
constexpr mode_t kFileMode = 0644;
constexpr mode_t kPermissionBits = 07777;
constexpr const char* kOverlayOpaqueXattr = "trusted.overlay.opaque";
// overlayfs's own bookkeeping: copying it would, for one, make the init
// layer's /etc opaque and hide the image's /etc.
constexpr std::string_view kOverlayXattrPrefixes[] = {"trusted.overlay.", "user.overlay."};

struct LowerDirectory {
  std::string path;
  struct stat st;
};

bool IsWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool IsOpaque(const std::string& path) {
  char value;
  return ::lgetxattr(path.c_str(), kOverlayOpaqueXattr, &value, 1) == 1 && value == 'y';
}

// The directory that the overlay of `lowerdirs` shows at `rel`, if it shows
// a directory there: the topmost layer that has it, unless a layer above
// deletes it (a whiteout), replaces it (a non-directory) or hides the lower
// layers under it (an opaque ancestor).
std::optional<LowerDirectory> FindInLowers(const std::vector<std::string>& lowerdirs, std::string_view rel) {
  for (const std::string& lower : lowerdirs) {
    bool below_hidden = false;
    std::string path = lower;
    size_t pos = 0;
    bool in_this_layer = true;
    while (pos <= rel.size()) {
      size_t end = std::min(rel.find('/', pos), rel.size());
      path += "/";
      path += rel.substr(pos, end - pos);
      bool last = end == rel.size();
      pos = end + 1;
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) throw RunnerSysError("inspect " + path);
        in_this_layer = false;
        break;
      }
      if (IsWhiteout(st) || !S_ISDIR(st.st_mode)) return std::nullopt;
      if (last) return LowerDirectory{path, st};
      if (IsOpaque(path)) below_hidden = true;
    }
    if (!in_this_layer && below_hidden) return std::nullopt;
  }
  return std::nullopt;
}

void CopyXattrs(const std::string& from, const std::string& to) {
  ssize_t size = ::llistxattr(from.c_str(), nullptr, 0);
  if (size < 0) throw RunnerSysError("list the extended attributes of " + from);
  std::string names(static_cast<size_t>(size), '\0');
  size = ::llistxattr(from.c_str(), names.data(), names.size());
  if (size < 0) throw RunnerSysError("list the extended attributes of " + from);
  names.resize(static_cast<size_t>(size));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    bool overlay = false;
    for (std::string_view prefix : kOverlayXattrPrefixes) overlay = overlay || name.starts_with(prefix);
    if (overlay) continue;
    ssize_t length = ::lgetxattr(from.c_str(), name.c_str(), nullptr, 0);
    if (length < 0) throw RunnerSysError("read extended attribute " + name + " of " + from);
    std::string value(static_cast<size_t>(length), '\0');
    length = ::lgetxattr(from.c_str(), name.c_str(), value.data(), value.size());
    if (length < 0) throw RunnerSysError("read extended attribute " + name + " of " + from);
    // ENOTSUP: the filesystem of the store has no such namespace (a
    // security label without its LSM); overlayfs's copy-up skips those too.
    if (::lsetxattr(to.c_str(), name.c_str(), value.data(), static_cast<size_t>(length), 0) != 0 && errno != ENOTSUP)
      throw RunnerSysError("set extended attribute " + name + " on " + to);
  }
}

void Mirror(const LowerDirectory& source, const std::string& target) {
  CheckSys(::lchown(target.c_str(), source.st.st_uid, source.st.st_gid), "set the owner of " + target);
  // After chown, which may clear the setgid bit.
  CheckSys(::chmod(target.c_str(), source.st.st_mode & kPermissionBits), "set the mode of " + target);
  CopyXattrs(source.path, target);
  const timespec times[2] = {source.st.st_atim, source.st.st_mtim};
  CheckSys(::utimensat(AT_FDCWD, target.c_str(), times, AT_SYMLINK_NOFOLLOW), "set the times of " + target);
}

}  // namespace

void CreateInitLayer(const std::string& dir, const std::vector<std::string>& lowerdirs) {
  for (std::string_view rel : kInitLayerDirectories) {
    std::string path = dir + "/" + std::string(rel);
    CheckSys(::mkdir(path.c_str(), kDefaultDirMode), "create directory " + path);
    // Explicitly: mkdir's mode is cut by the umask of bld's user.
    CheckSys(::chmod(path.c_str(), kDefaultDirMode), "set the mode of " + path);
  }
  for (std::string_view rel : kInitLayerFiles) WriteFileWithMode(dir + "/" + std::string(rel), "", kFileMode);
  // Children first: setting a directory's times must come after the last
  // change inside it.
  for (size_t i = std::size(kInitLayerDirectories); i-- > 0;) {
    std::string_view rel = kInitLayerDirectories[i];
    if (std::optional<LowerDirectory> source = FindInLowers(lowerdirs, rel))
      Mirror(*source, dir + "/" + std::string(rel));
  }
}

}  // namespace bld::runner
