#include "runner/locked_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <system_error>

namespace bld::runner {

namespace {

// A new directory loses its name only if a prune runs in the instant between
// mkdir and flock; a few such losses in a row mean something else is wrong.
constexpr int kCreateAttempts = 8;
constexpr mode_t kOwnerOnlyDirMode = 0700;

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t filled = 0;
  while (filled < bytes) {
    ssize_t n = ::getrandom(raw.data() + filled, bytes - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw RunnerSysError("getrandom");
    }
    filled += static_cast<size_t>(n);
  }
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes * 2);
  for (unsigned char c : raw) {
    hex += kHexDigits[c >> 4];
    hex += kHexDigits[c & 0xf];
  }
  return hex;
}

bool SameInode(int fd, const std::string& path) {
  struct stat by_fd, by_path;
  return ::fstat(fd, &by_fd) == 0 && ::lstat(path.c_str(), &by_path) == 0 && by_fd.st_dev == by_path.st_dev &&
         by_fd.st_ino == by_path.st_ino;
}

// A descriptor of the directory at `path`, locked without waiting; an empty
// descriptor if a live process holds it or it vanished.
UniqueFd TryLock(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return {};
    throw RunnerSysError("open " + path);
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return {};
    throw RunnerSysError("lock " + path);
  }
  return fd;
}

// Removes `path` and everything under it; symlinks are removed, never
// followed.
void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) throw Error("runner: remove " + path + ": " + ec.message());
}

}  // namespace

LockedDir::LockedDir(std::string parent, std::string name, UniqueFd fd)
    : parent_(std::move(parent)), name_(std::move(name)), path_(parent_ + "/" + name_), fd_(std::move(fd)) {}

LockedDir LockedDir::Create(const std::string& parent, std::string_view prefix, size_t random_bytes) {
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    std::string name = std::string(prefix) + RandomHex(random_bytes);
    std::string path = parent + "/" + name;
    if (::mkdir(path.c_str(), kOwnerOnlyDirMode) != 0) {
      if (errno == EEXIST) continue;
      throw RunnerSysError("create directory " + path);
    }
    UniqueFd fd = TryLock(path);
    if (fd && SameInode(fd.get(), path)) return LockedDir(parent, std::move(name), std::move(fd));
  }
  throw Error("runner: could not create a directory in " + parent + " after " + std::to_string(kCreateAttempts) +
              " attempts: each was removed before it could be locked");
}

LockedDir::~LockedDir() {
  if (!fd_) return;
  // The lock is held until the tree is gone, so a prune never sees it half
  // removed and unlocked. A failure here leaves an abandoned directory that
  // the next prune removes.
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool LockedDir::RenameNoReplace(const std::string& new_name) {
  std::string target = parent_ + "/" + new_name;
  if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return false;
    throw RunnerSysError("rename " + path_ + " to " + target);
  }
  fd_.Reset();
  name_ = new_name;
  path_ = std::move(target);
  return true;
}

std::vector<std::string> RemoveAbandonedDirs(const std::string& parent, std::string_view prefix) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(parent.c_str()), ::closedir);
  if (!dir) {
    if (errno == ENOENT) return {};
    throw RunnerSysError("open directory " + parent);
  }
  std::vector<std::string> candidates;
  while (dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name == "." || name == ".." || !name.starts_with(prefix)) continue;
    if (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN) continue;
    candidates.push_back(parent + "/" + std::string(name));
  }
  std::vector<std::string> removed;
  for (const std::string& path : candidates) {
    UniqueFd lock = TryLock(path);
    if (!lock || !SameInode(lock.get(), path)) continue;
    RemoveTree(path);
    removed.push_back(path);
  }
  return removed;
}

}  // namespace bld::runner
