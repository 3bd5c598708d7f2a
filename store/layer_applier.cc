#include "store/layer_applier.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "store/archive_handles.h"
#include "store/error.h"
#include "store/layer_reader.h"
#include "store/quote.h"
#include "store/unique_fd.h"

namespace bld::store {

namespace {

// openat2 with RESOLVE_IN_ROOT fails with EAGAIN when a rename races with the
// lookup; nothing else renames inside the target, so a few retries suffice.
constexpr int kOpenat2Retries = 8;

constexpr const char* kOverlayOpaqueXattr = "trusted.overlay.opaque";
// overlayfs reads its metadata from these namespaces (user.overlay.* when
// mounted with userxattr); a layer must not be able to set them.
constexpr std::string_view kOverlayXattrPrefixes[] = {"trusted.overlay.", "user.overlay."};
// Directories that an entry needs but the layer does not list, as Docker
// creates them.
constexpr mode_t kImplicitDirMode = 0755;
// Directories are created owner-only and get their real mode once the layer is
// applied, so that a read-only directory in the layer can still be filled.
constexpr mode_t kDirModeWhileApplying = 0700;
constexpr mode_t kPermissionBits = 07777;

// Counts what was not applied, one line per reason.
class Warnings {
 public:
  // An entry counts once per reason, however many of its xattrs failed.
  void Add(const std::string& reason, const std::string& entry) {
    auto [it, first] = seen_.try_emplace(reason, Seen{0, entry, ""});
    if (!first && it->second.last == entry) return;
    ++it->second.count;
    it->second.last = entry;
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    for (const auto& [reason, seen] : seen_)
      lines.push_back(reason + " (" + std::to_string(seen.count) + (seen.count == 1 ? " entry: " : " entries, first ") +
                      QuoteName(seen.first) + ")");
    return lines;
  }

 private:
  struct Seen {
    size_t count;
    std::string first;
    std::string last;
  };
  std::map<std::string, Seen> seen_;
};

// Where an entry goes: the directory that holds it and its name there.
struct Slot {
  UniqueFd dir;
  std::string name;
};

class Applier {
 public:
  Applier(const std::string& target, const ApplyOptions& options)
      : options_(options), privileged_(geteuid() == 0) {
    root_ = UniqueFd(open(target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_) throw SysError("applying layer: cannot open the target directory \"" + target + "\"");
  }

  ApplyResult Run(const ByteSource& source) {
    LayerReader reader(source);
    while (const LayerEntry* entry = reader.Next()) {
      entry_name_ = entry->name;
      ApplyEntry(reader, *entry);
    }
    LayerSummary summary = reader.Finish();
    FinishDirectories();

    ApplyResult result;
    result.diff_id = summary.diff_id;
    result.uncompressed_size = summary.size;
    result.compression = summary.compression;
    result.warnings = warnings_.Lines();
    return result;
  }

 private:
  // The reader has checked the entry against the layer rules; what is left
  // is what depends on the target's filesystem.
  void ApplyEntry(LayerReader& reader, const LayerEntry& e) {
    const std::string& what = e.what;
    auto [dir, base] = SplitLayerPath(e.path);
    archive_entry* entry = e.entry;
    switch (e.kind) {
      case LayerEntry::Kind::kOpaque: MarkOpaque(e.path, what); return;
      case LayerEntry::Kind::kWhiteout: Whiteout(dir, base, what); return;
      default: break;
    }
    if (e.path.empty()) {
      ApplyDirectory(entry, Slot{}, e.path, what);
      return;
    }
    Slot slot{OpenDirectory(dir, true, what), base};
    switch (e.kind) {
      case LayerEntry::Kind::kHardLink: ApplyHardLink(e, slot); return;
      case LayerEntry::Kind::kDirectory: ApplyDirectory(entry, std::move(slot), e.path, what); return;
      case LayerEntry::Kind::kFile: ApplyFile(reader, entry, slot, what); return;
      case LayerEntry::Kind::kSymlink: ApplySymlink(entry, slot, what); return;
      default: ApplySpecial(entry, slot, what); return;
    }
  }

  // ---- Path resolution -----------------------------------------------------

  // openat2 from the target with chroot semantics; -1 and errno on failure.
  int OpenInRoot(const std::string& rel, int flags) const {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    const char* p = rel.empty() ? "." : rel.c_str();
    for (int attempt = 0;; ++attempt) {
      int fd = static_cast<int>(syscall(SYS_openat2, root_.get(), p, &how, sizeof(how)));
      if (fd >= 0 || errno != EAGAIN || attempt == kOpenat2Retries) return fd;
    }
  }

  // The directory `dir` (a clean path) as seen from inside the target. With
  // `create`, missing directories are made (0755, like Docker); without, a
  // missing one gives an invalid descriptor.
  UniqueFd OpenDirectory(const std::string& dir, bool create, const std::string& what) {
    UniqueFd fd(OpenInRoot(dir, O_PATH | O_DIRECTORY));
    if (fd) return fd;
    if (errno != ENOENT) throw SysError(what + ": cannot open its directory " + QuoteName(dir));
    if (!create) return fd;
    // Make the missing directories one by one, each inside the previous one
    // as resolved in the target, so a symlink met on the way stays inside.
    UniqueFd current(OpenInRoot("", O_PATH | O_DIRECTORY));
    std::string prefix;
    size_t pos = 0;
    while (pos <= dir.size()) {
      size_t end = std::min(dir.find('/', pos), dir.size());
      std::string part = dir.substr(pos, end - pos);
      pos = end + 1;
      prefix = JoinLayerPath(prefix, part);
      UniqueFd next(OpenInRoot(prefix, O_PATH | O_DIRECTORY));
      if (!next && errno == ENOENT) {
        if (mkdirat(current.get(), part.c_str(), kImplicitDirMode) != 0 && errno != EEXIST)
          throw SysError(what + ": cannot create its parent directory " + QuoteName(prefix));
        next = UniqueFd(OpenInRoot(prefix, O_PATH | O_DIRECTORY));
        if (next) MarkWritten(next.get());
      }
      if (!next) throw SysError(what + ": cannot open its parent directory " + QuoteName(prefix));
      current = std::move(next);
    }
    return current;
  }

  // ---- Removal -------------------------------------------------------------

  // Removes `name` in `dirfd`, with everything under it for a directory.
  // Never follows a symlink: a symlink is removed, not what it points to.
  void RemoveTree(int dirfd, const std::string& name, const std::string& what) {
    if (unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return;
    if (errno != EISDIR) throw SysError(what + ": cannot remove " + QuoteName(name));
    UniqueFd sub(openat(dirfd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) throw SysError(what + ": cannot open " + QuoteName(name) + " to empty it");
    for (const std::string& child : ListDirectory(sub.get(), ".", what)) RemoveTree(sub.get(), child, what);
    if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
      throw SysError(what + ": cannot remove the directory " + QuoteName(name));
  }

  static std::vector<std::string> ListDirectory(int dirfd, const std::string& name, const std::string& what) {
    UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw SysError(what + ": cannot open the directory " + QuoteName(name));
    std::unique_ptr<DIR, DirCloser> dir(fdopendir(fd.get()));
    if (!dir) throw SysError(what + ": cannot list the directory " + QuoteName(name));
    fd.release();
    std::vector<std::string> names;
    errno = 0;
    while (dirent* d = readdir(dir.get())) {
      std::string_view n = d->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
      errno = 0;
    }
    if (errno != 0) throw SysError(what + ": cannot list the directory " + QuoteName(name));
    return names;
  }

  // Clears the slot for a new entry. An existing directory is kept when the
  // new entry is a directory too (its content stays, as in Docker); anything
  // else there is removed. Returns whether a directory was kept.
  bool ClearSlot(const Slot& slot, bool keep_directory, const std::string& what) {
    struct stat st;
    if (fstatat(slot.dir.get(), slot.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return false;
      throw SysError(what + ": cannot inspect what is already there");
    }
    if (keep_directory && S_ISDIR(st.st_mode)) return true;
    RemoveTree(slot.dir.get(), slot.name, what);
    return false;
  }

  // ---- Whiteouts -----------------------------------------------------------

  void Whiteout(const std::string& dir, const std::string& victim, const std::string& what) {
    if (options_.mode == ApplyMode::kPlain) {
      UniqueFd parent = OpenDirectory(dir, false, what);
      if (parent) RemoveTree(parent.get(), victim, what);
      return;
    }
    Slot slot{OpenDirectory(dir, true, what), victim};
    ClearSlot(slot, false, what);
    if (mknodat(slot.dir.get(), victim.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
      throw SysError(what + ": cannot create the overlay whiteout (a 0/0 character device, which needs root)");
  }

  void MarkOpaque(const std::string& dir, const std::string& what) {
    if (options_.mode == ApplyMode::kOverlay) {
      OpenDirectory(dir, true, what);
      UniqueFd fd(OpenInRoot(dir, O_RDONLY | O_DIRECTORY));
      if (!fd) throw SysError(what + ": cannot open the opaque directory");
      if (fsetxattr(fd.get(), kOverlayOpaqueXattr, "y", 1, 0) != 0)
        throw SysError(what + ": cannot set " + kOverlayOpaqueXattr + " (needs root)");
      return;
    }
    UniqueFd fd(OpenInRoot(dir, O_PATH | O_DIRECTORY));
    if (!fd) {
      if (errno == ENOENT) return;
      throw SysError(what + ": cannot open the opaque directory");
    }
    RemoveUnwritten(fd.get(), what);
  }

  // Empties a directory of what earlier layers put there: everything not
  // written by this layer, looking into directories this layer wrote.
  void RemoveUnwritten(int dirfd, const std::string& what) {
    for (const std::string& child : ListDirectory(dirfd, ".", what)) {
      struct stat st;
      if (fstatat(dirfd, child.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        throw SysError(what + ": cannot inspect " + QuoteName(child));
      }
      if (!written_.contains({st.st_dev, st.st_ino})) {
        RemoveTree(dirfd, child, what);
      } else if (S_ISDIR(st.st_mode)) {
        UniqueFd sub(openat(dirfd, child.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) throw SysError(what + ": cannot open " + QuoteName(child));
        RemoveUnwritten(sub.get(), what);
      }
    }
  }

  // Remembers an inode created by this layer, for opaque markers in plain
  // mode. Inodes rather than paths: a path can be reached through symlinks
  // under other names, an inode is what it is.
  void MarkWritten(int fd) {
    if (options_.mode != ApplyMode::kPlain) return;
    struct stat st;
    if (fstat(fd, &st) == 0) written_.insert({st.st_dev, st.st_ino});
  }

  void MarkWritten(const Slot& slot) {
    if (options_.mode != ApplyMode::kPlain) return;
    struct stat st;
    if (fstatat(slot.dir.get(), slot.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
      written_.insert({st.st_dev, st.st_ino});
  }

  // ---- Entries -------------------------------------------------------------

  // `slot.dir` is invalid for the target itself (path "").
  void ApplyDirectory(archive_entry* entry, Slot slot, const std::string& path, const std::string& what) {
    UniqueFd fd;
    if (path.empty()) {
      fd = UniqueFd(OpenInRoot("", O_RDONLY | O_DIRECTORY));
    } else {
      if (!ClearSlot(slot, true, what) && mkdirat(slot.dir.get(), slot.name.c_str(), kDirModeWhileApplying) != 0)
        throw SysError(what + ": cannot create the directory");
      fd = UniqueFd(openat(slot.dir.get(), slot.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    if (!fd) throw SysError(what + ": cannot open the directory");
    MarkWritten(fd.get());
    SetOwner(fd.get(), entry, what);
    SetXattrs(fd.get(), "", entry, what);
    struct stat st;
    if (fstat(fd.get(), &st) != 0) throw SysError(what + ": cannot stat the directory");
    // Mode and times last: creating children changes the mtime, and a
    // read-only mode would stop them from being created.
    Deferred& deferred = directories_[path];
    deferred = Deferred{st.st_dev, st.st_ino, static_cast<mode_t>(archive_entry_perm(entry)), {}};
    Times(entry, deferred.times);
  }

  void ApplyFile(LayerReader& reader, archive_entry* entry, const Slot& slot, const std::string& what) {
    ClearSlot(slot, false, what);
    UniqueFd fd(openat(slot.dir.get(), slot.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw SysError(what + ": cannot create the file");
    MarkWritten(fd.get());
    const void* block = nullptr;
    size_t size = 0;
    int64_t offset = 0;
    // Blocks come with their offsets: a sparse entry leaves holes.
    while (reader.ReadBlock(&block, &size, &offset)) {
      const char* p = static_cast<const char*>(block);
      while (size > 0) {
        ssize_t n = pwrite(fd.get(), p, size, offset);
        if (n < 0) {
          if (errno == EINTR) continue;
          throw SysError(what + ": cannot write the file");
        }
        p += n;
        offset += n;
        size -= static_cast<size_t>(n);
      }
    }
    // A trailing hole has no block; the size says where the file ends.
    if (ftruncate(fd.get(), archive_entry_size(entry)) != 0) throw SysError(what + ": cannot set the file size");
    SetOwner(fd.get(), entry, what);
    // After the owner: chown clears setuid and setgid.
    if (fchmod(fd.get(), archive_entry_perm(entry) & kPermissionBits) != 0)
      throw SysError(what + ": cannot set the mode");
    // After the owner too: chown clears security.capability.
    SetXattrs(fd.get(), "", entry, what);
    timespec times[2] = {};
    Times(entry, times);
    if (futimens(fd.get(), times) != 0) throw SysError(what + ": cannot set the times");
  }

  void ApplySymlink(archive_entry* entry, const Slot& slot, const std::string& what) {
    const char* target = archive_entry_symlink(entry);
    if (!target) target = archive_entry_symlink_utf8(entry);
    ClearSlot(slot, false, what);
    if (symlinkat(target, slot.dir.get(), slot.name.c_str()) != 0) throw SysError(what + ": cannot create the symlink");
    MarkWritten(slot);
    SetMetadataAt(entry, slot, false, what);
  }

  void ApplySpecial(archive_entry* entry, const Slot& slot, const std::string& what) {
    mode_t type = archive_entry_filetype(entry);
    bool device = type == AE_IFCHR || type == AE_IFBLK;
    if (device && !privileged_) {
      warnings_.Add("skipped device nodes: creating device nodes needs root", entry_name_);
      return;
    }
    ClearSlot(slot, false, what);
    dev_t dev = device ? makedev(archive_entry_rdevmajor(entry), archive_entry_rdevminor(entry)) : 0;
    if (mknodat(slot.dir.get(), slot.name.c_str(), type | 0600, dev) != 0) {
      if (device && errno == EPERM) {
        warnings_.Add("skipped device nodes: this process may not create them", entry_name_);
        return;
      }
      throw SysError(what + ": cannot create the " + (device ? "device node" : "fifo"));
    }
    MarkWritten(slot);
    SetMetadataAt(entry, slot, true, what);
  }

  void ApplyHardLink(const LayerEntry& e, const Slot& slot) {
    if (e.link == e.path) return;  // a link to itself: already there
    const std::string& what = e.what;
    auto [link_dir, link_base] = SplitLayerPath(e.link);
    UniqueFd source_dir = OpenDirectory(link_dir, false, what);
    struct stat st;
    // The reader saw the target made earlier; it is missing only when it
    // was not applied (a device node skipped without root).
    if (!source_dir || fstatat(source_dir.get(), link_base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      throw Error(what + " is a hard link to " + QuoteName(e.link) + ", which is not in the target directory");
    if (S_ISDIR(st.st_mode)) throw Error(what + " is a hard link to the directory " + QuoteName(e.link));
    ClearSlot(slot, false, what);
    // Flags 0: a link to a symlink links the symlink, never its target.
    if (linkat(source_dir.get(), link_base.c_str(), slot.dir.get(), slot.name.c_str(), 0) != 0)
      throw SysError(what + ": cannot create the hard link to " + QuoteName(e.link));
    MarkWritten(slot);
  }

  // ---- Metadata ------------------------------------------------------------

  // For entries that cannot be opened (symlinks, devices, fifos).
  void SetMetadataAt(archive_entry* entry, const Slot& slot, bool set_mode, const std::string& what) {
    int dirfd = slot.dir.get();
    const char* name = slot.name.c_str();
    if (fchownat(dirfd, name, static_cast<uid_t>(archive_entry_uid(entry)), static_cast<gid_t>(archive_entry_gid(entry)),
                 AT_SYMLINK_NOFOLLOW) != 0)
      OwnerFailed(what);
    // A device or fifo we just created, never a symlink: following is safe.
    if (set_mode && fchmodat(dirfd, name, archive_entry_perm(entry) & kPermissionBits, 0) != 0)
      throw SysError(what + ": cannot set the mode");
    SetXattrs(-1, "/proc/self/fd/" + std::to_string(dirfd) + "/" + slot.name, entry, what);
    timespec times[2] = {};
    Times(entry, times);
    if (utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) != 0) throw SysError(what + ": cannot set the times");
  }

  void SetOwner(int fd, archive_entry* entry, const std::string& what) {
    if (fchown(fd, static_cast<uid_t>(archive_entry_uid(entry)), static_cast<gid_t>(archive_entry_gid(entry))) != 0)
      OwnerFailed(what);
  }

  void OwnerFailed(const std::string& what) {
    if (errno != EPERM && errno != EINVAL) throw SysError(what + ": cannot set the owner");
    // EINVAL: the id is not mapped in this user namespace.
    warnings_.Add("kept the applying user as owner: this process may not give files away", entry_name_);
  }

  // Through `fd` when valid, else through `path` without following it.
  void SetXattrs(int fd, const std::string& path, archive_entry* entry, const std::string& what) {
    archive_entry_xattr_reset(entry);
    const char* key = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
      std::string_view k = key;
      bool overlay = false;
      for (std::string_view prefix : kOverlayXattrPrefixes) overlay = overlay || k.starts_with(prefix);
      if (overlay) {
        warnings_.Add("ignored overlayfs extended attributes, which a layer may not set", entry_name_);
        continue;
      }
      int rc = fd >= 0 ? fsetxattr(fd, key, value, size, 0) : lsetxattr(path.c_str(), key, value, size, 0);
      if (rc == 0) continue;
      if (errno != ENOTSUP && errno != EPERM) throw SysError(what + ": cannot set the extended attribute " + key);
      warnings_.Add("skipped extended attributes that this process or filesystem cannot set", entry_name_);
    }
  }

  static void Times(archive_entry* entry, timespec times[2]) {
    times[1] = {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
    times[0] = archive_entry_atime_is_set(entry) ? timespec{archive_entry_atime(entry), archive_entry_atime_nsec(entry)}
                                                 : times[1];
  }

  // Sets the modes and times held back for directories, now that nothing
  // more is created in them. A path that no longer names the same directory
  // (a later entry replaced it) is skipped.
  void FinishDirectories() {
    for (const auto& [path, deferred] : directories_) {
      UniqueFd fd(OpenInRoot(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
      struct stat st;
      if (!fd || fstat(fd.get(), &st) != 0 || st.st_dev != deferred.dev || st.st_ino != deferred.ino) continue;
      const std::string what = "layer entry " + QuoteName(path.empty() ? "." : path);
      if (fchmod(fd.get(), deferred.mode & kPermissionBits) != 0) throw SysError(what + ": cannot set the mode");
      if (futimens(fd.get(), deferred.times) != 0) throw SysError(what + ": cannot set the times");
    }
  }

  struct Deferred {
    dev_t dev;
    ino_t ino;
    mode_t mode;
    timespec times[2];
  };

  ApplyOptions options_;
  bool privileged_;
  UniqueFd root_;
  std::map<std::string, Deferred> directories_;
  std::set<std::pair<dev_t, ino_t>> written_;
  Warnings warnings_;
  std::string entry_name_;  // the entry being applied, for warnings
};

}  // namespace

ApplyResult ApplyLayer(const ByteSource& layer, const std::string& target, const ApplyOptions& options) {
  return Applier(target, options).Run(layer);
}

}  // namespace bld::store
