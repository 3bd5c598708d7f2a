#include "runner/init_layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <optional>

#include "runner/lower_lookup.h"
#include "runner/system_call.h"

namespace bld::runner {

namespace {

constexpr mode_t kDefaultDirMode = 0755;
constexpr mode_t kFileMode = 0644;
constexpr mode_t kPermissionBits = 07777;
// overlayfs's own bookkeeping: copying it would, for one, make the init
// layer's /etc opaque and hide the image's /etc.
constexpr std::string_view kOverlayXattrPrefixes[] = {"trusted.overlay.", "user.overlay."};

using LowerDirectory = LowerEntry;

// The directory the overlay of `lowerdirs` shows at `rel`, if it shows a
// directory there.
std::optional<LowerDirectory> FindInLowers(const std::vector<std::string>& lowerdirs, std::string_view rel) {
  std::optional<LowerEntry> entry = LookUpInLowers(lowerdirs, rel);
  if (!entry || !S_ISDIR(entry->st.st_mode)) return std::nullopt;
  return entry;
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

void CreateInitLayer(const std::string& dir, const std::vector<std::string>& lowerdirs,
                     const std::vector<MountPoint>& mount_points) {
  // Relative paths of the directories made, parents first.
  std::vector<std::string> made;
  auto make_directory = [&](const std::string& rel) {
    std::string path = dir + "/" + rel;
    if (::mkdir(path.c_str(), kDefaultDirMode) != 0) {
      if (errno == EEXIST) return;
      throw RunnerSysError("create directory " + path);
    }
    // Explicitly: mkdir's mode is cut by the umask of bld's user.
    CheckSys(::chmod(path.c_str(), kDefaultDirMode), "set the mode of " + path);
    made.push_back(rel);
  };
  for (std::string_view rel : kInitLayerDirectories) make_directory(std::string(rel));
  for (std::string_view rel : kInitLayerFiles) WriteFileWithMode(dir + "/" + std::string(rel), "", kFileMode);
  for (const MountPoint& point : mount_points) {
    std::string rel = point.path.substr(point.path.find_first_not_of('/'));
    for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
      std::string parent = rel.substr(0, slash);
      std::optional<LowerEntry> lower = LookUpInLowers(lowerdirs, parent);
      if (lower && !S_ISDIR(lower->st.st_mode))
        throw Error("cannot mount at " + point.path + ": /" + parent + " is not a directory in the image");
      make_directory(parent);
    }
    std::optional<LowerEntry> lower = LookUpInLowers(lowerdirs, rel);
    if (lower && S_ISDIR(lower->st.st_mode) != point.directory)
      throw Error("cannot mount " + std::string(point.directory ? "a directory" : "a file") + " at " + point.path +
                  ": the image has " + (point.directory ? "a file" : "a directory") + " there");
    if (point.directory) {
      make_directory(rel);
    } else {
      UniqueFd file(::open((dir + "/" + rel).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kFileMode));
      if (!file) throw RunnerSysError("create mount point " + point.path);
    }
  }
  // Children first: setting a directory's times must come after the last
  // change inside it.
  for (auto it = made.rbegin(); it != made.rend(); ++it)
    if (std::optional<LowerDirectory> source = FindInLowers(lowerdirs, *it)) Mirror(*source, dir + "/" + *it);
}

}  // namespace bld::runner
