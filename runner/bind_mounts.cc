#include "runner/bind_mounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <memory>

namespace bld::runner {

namespace {

constexpr mode_t kMountPointDirMode = 0755;
constexpr mode_t kMountPointFileMode = 0644;
// Bytes moved by one sendfile call; the loop goes on until the end.
constexpr size_t kCopyChunk = 1 << 20;

bool IsEmptyDirectory(int dir_fd) {
  UniqueFd fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw RunnerSysError("open a volume");
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd.release()), ::closedir);
  if (!dir) throw RunnerSysError("read a volume");
  while (dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") return false;
  }
  return true;
}

void CopyAttributes(int to, const char* name, const struct stat& st) {
  CheckSys(::fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW), std::string("set the owner of ") + name);
  if (!S_ISLNK(st.st_mode))
    CheckSys(::fchmodat(to, name, st.st_mode & 07777, 0), std::string("set the mode of ") + name);
  timespec times[2] = {st.st_atim, st.st_mtim};
  CheckSys(::utimensat(to, name, times, AT_SYMLINK_NOFOLLOW), std::string("set the times of ") + name);
}

void CopyFile(int from, int to, const char* name, const struct stat& st) {
  UniqueFd in(::openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) throw RunnerSysError(std::string("open ") + name);
  UniqueFd out(::openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777));
  if (!out) throw RunnerSysError(std::string("create ") + name);
  for (;;) {
    ssize_t n = ::sendfile(out.get(), in.get(), nullptr, kCopyChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw RunnerSysError(std::string("copy ") + name);
    if (n == 0) break;
  }
}

}  // namespace

void MakeMountPoint(const std::string& target, bool directory) {
  if (directory) {
    MakeDirectories(target, kMountPointDirMode, "create mount point");
    return;
  }
  size_t slash = target.rfind('/');
  if (slash > 0) MakeDirectories(target.substr(0, slash), kMountPointDirMode, "create mount point");
  UniqueFd file(::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kMountPointFileMode));
  if (!file && errno != EISDIR) throw RunnerSysError("create mount point " + target);
}

void CopyTree(int from, int to) {
  UniqueFd fd(::openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw RunnerSysError("open a directory to copy");
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd.release()), ::closedir);
  if (!dir) throw RunnerSysError("read a directory to copy");
  while (dirent* entry = ::readdir(dir.get())) {
    const char* name = entry->d_name;
    std::string_view view = name;
    if (view == "." || view == "..") continue;
    struct stat st;
    CheckSys(::fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW), std::string("inspect ") + name);
    if (S_ISDIR(st.st_mode)) {
      CheckSys(::mkdirat(to, name, 0700), std::string("create directory ") + name);
      UniqueFd sub_from(::openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_to(::openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_from || !sub_to) throw RunnerSysError(std::string("open directory ") + name);
      CopyTree(sub_from.get(), sub_to.get());
    } else if (S_ISREG(st.st_mode)) {
      CopyFile(from, to, name, st);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(from, name, target.data(), target.size());
      if (n < 0) throw RunnerSysError(std::string("read symlink ") + name);
      target.resize(static_cast<size_t>(n));
      CheckSys(::symlinkat(target.c_str(), to, name), std::string("create symlink ") + name);
    } else {
      CheckSys(::mknodat(to, name, st.st_mode, st.st_rdev), std::string("create node ") + name);
    }
    CopyAttributes(to, name, st);
  }
}

std::vector<OpenBind> OpenBindSources(const std::vector<BindMount>& binds) {
  std::vector<OpenBind> opened;
  for (const BindMount& bind : binds) {
    // By system call: glibc 2.36 declares the new mount API, but not every
    // libc bld may be built with does.
    long fd =
        ::syscall(SYS_open_tree, AT_FDCWD, bind.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (fd < 0) throw RunnerSysError("clone the mount of " + bind.source);
    OpenBind open_bind{bind, UniqueFd(static_cast<int>(fd)), false};
    struct stat st;
    CheckSys(::fstat(open_bind.source.get(), &st), "inspect the mount source " + bind.source);
    open_bind.directory = S_ISDIR(st.st_mode);
    if (bind.read_only) {
      mount_attr attr{};
      attr.attr_set = MOUNT_ATTR_RDONLY;
      CheckSys(
          ::syscall(SYS_mount_setattr, open_bind.source.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr),
          "make the mount of " + bind.source + " read-only");
    }
    opened.push_back(std::move(open_bind));
  }
  return opened;
}

void MountBind(const OpenBind& open_bind) {
  const BindMount& bind = open_bind.bind;
  MakeMountPoint(bind.target, open_bind.directory);
  if (bind.copy_up && open_bind.directory) {
    UniqueFd volume(::openat(open_bind.source.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    UniqueFd image_dir(::open(bind.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!volume || !image_dir) throw RunnerSysError("open " + bind.target + " to fill its volume");
    if (IsEmptyDirectory(volume.get())) {
      CopyTree(image_dir.get(), volume.get());
      struct stat st;
      CheckSys(::fstat(image_dir.get(), &st), "inspect " + bind.target);
      CheckSys(::fchown(volume.get(), st.st_uid, st.st_gid), "set the owner of the volume at " + bind.target);
      CheckSys(::fchmod(volume.get(), st.st_mode & 07777), "set the mode of the volume at " + bind.target);
    }
  }
  CheckSys(
      ::syscall(SYS_move_mount, open_bind.source.get(), "", AT_FDCWD, bind.target.c_str(), MOVE_MOUNT_F_EMPTY_PATH),
      "mount " + bind.source + " at " + bind.target);
}

}  // namespace bld::runner
