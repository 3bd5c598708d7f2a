#include "runner/run_mount_plan.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runner/bind_mounts.h"

namespace bld::runner {

namespace {

constexpr const char* kSecretFileName = "secret";
constexpr mode_t kSecretStagingMode = 0700;
constexpr mode_t kMadeDirMode = 0755;
// A secret's tmpfs holds one file: its size rounded up to pages, and one
// page more so that an empty secret still fits.
constexpr uint64_t kPage = 4096;
// BuildKit mounts a tmpfs nosuid; a secret's tmpfs gets nodev and noexec too.
constexpr unsigned long kTmpfsFlags = MS_NOSUID;
constexpr unsigned long kSecretTmpfsFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// A detached copy of the mount at `fd` (O_PATH), read-only if asked.
UniqueFd Clone(int fd, bool read_only, const std::string& what) {
  // By system call: glibc 2.36 declares the new mount API, but not every
  // libc bld may be built with does.
  long clone = ::syscall(SYS_open_tree, fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (clone < 0) throw RunnerSysError("clone the mount of " + what);
  UniqueFd out(static_cast<int>(clone));
  if (read_only) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    CheckSys(::syscall(SYS_mount_setattr, out.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr),
             "make the mount of " + what + " read-only");
  }
  return out;
}

UniqueFd OpenPath(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd) throw RunnerSysError("open " + path);
  return fd;
}

// mkdir -p of `path` beneath the directory `root_fd`, never through a
// symlink. Returns the last directory, opened O_PATH.
UniqueFd MakeDirectoriesBeneath(int root_fd, const std::string& path, const std::string& what) {
  UniqueFd dir(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!dir) throw RunnerSysError("open " + what);
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = std::min(path.find('/', pos), path.size());
    std::string name = path.substr(pos, end - pos);
    pos = end + 1;
    if (name.empty() || name == ".") continue;
    if (name == "..") throw Error("runner: " + what + ": the path " + path + " may not use ..");
    if (::mkdirat(dir.get(), name.c_str(), kMadeDirMode) != 0 && errno != EEXIST)
      throw RunnerSysError("create " + path + " in " + what);
    UniqueFd next(::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) throw RunnerSysError("open " + path + " in " + what);
    dir = std::move(next);
  }
  return dir;
}

// A new cache mount takes the content of its `from` first.
void Fill(const MountPlan& plan, int root_fd) {
  MountOverlay(*plan.seed, plan.seed_root);
  UniqueFd seed_root = OpenPath(plan.seed_root, O_PATH | O_DIRECTORY);
  UniqueFd from = OpenInRoot(seed_root.get(), plan.seed_path, O_RDONLY | O_DIRECTORY);
  if (!from) throw RunnerSysError("open " + plan.seed_path + " in the `from` of the cache at " + plan.target);
  UniqueFd to(::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!to) throw RunnerSysError("open the cache at " + plan.target);
  CopyTree(from.get(), to.get());
}

UniqueFd OpenTree(const MountPlan& plan) {
  if (plan.overlay) MountOverlay(*plan.overlay, plan.root);
  UniqueFd root = OpenPath(plan.root, O_PATH);
  if (plan.seed) Fill(plan, root.get());
  if (plan.path.empty()) return Clone(root.get(), plan.read_only, plan.target);
  // A cache shows the part `source` names, made if it is not there yet; a
  // tree from a stage or the context must have it.
  UniqueFd part = plan.overlay ? OpenInRoot(root.get(), plan.path, O_PATH)
                               : MakeDirectoriesBeneath(root.get(), plan.path, "the cache at " + plan.target);
  if (!part) throw RunnerSysError("open " + plan.path + " in the source of the mount at " + plan.target);
  struct stat st;
  CheckSys(::fstat(part.get(), &st), "inspect the source of the mount at " + plan.target);
  if (S_ISDIR(st.st_mode) != plan.directory)
    throw Error("runner: the source " + plan.path + " of the mount at " + plan.target + " is " +
                (S_ISDIR(st.st_mode) ? "a directory" : "not a directory") + " (it changed while the step started)");
  return Clone(part.get(), plan.read_only, plan.target);
}

UniqueFd OpenFile(const MountPlan& plan) {
  uint64_t size = (plan.content.size() / kPage + 2) * kPage;
  std::string options = "mode=0700,size=" + std::to_string(size);
  CheckSys(::mount("tmpfs", plan.root.c_str(), "tmpfs", kSecretTmpfsFlags, options.c_str()),
           "mount a tmpfs for the secret at " + plan.target);
  CheckSys(::chmod(plan.root.c_str(), kSecretStagingMode), "set the mode of " + plan.root);
  std::string path = plan.root + "/" + kSecretFileName;
  UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file) throw RunnerSysError("create the secret for " + plan.target);
  WriteAll(file.get(), plan.content, "the secret for " + plan.target);
  // chown before chmod: chown clears setuid and setgid bits.
  CheckSys(::fchown(file.get(), plan.uid, plan.gid), "set the owner of the secret at " + plan.target);
  CheckSys(::fchmod(file.get(), plan.mode), "set the mode of the secret at " + plan.target);
  file.Reset();
  UniqueFd at = OpenPath(path, O_PATH);
  return Clone(at.get(), true, plan.target);
}

}  // namespace

std::vector<OpenMount> OpenRunMounts(const std::vector<MountPlan>& plans) {
  std::vector<OpenMount> opened;
  for (const MountPlan& plan : plans) {
    OpenMount open{&plan, {}};
    if (plan.kind == MountPlan::Kind::kTree) open.clone = OpenTree(plan);
    if (plan.kind == MountPlan::Kind::kFile) open.clone = OpenFile(plan);
    opened.push_back(std::move(open));
  }
  return opened;
}

void AttachRunMounts(const std::vector<OpenMount>& mounts) {
  for (const OpenMount& open : mounts) {
    const MountPlan& plan = *open.plan;
    // The init layer holds every target; one inside another mount of the
    // step is made in that mount.
    struct stat st;
    if (::lstat(plan.target.c_str(), &st) != 0) MakeMountPoint(plan.target, plan.directory);
    if (plan.kind == MountPlan::Kind::kTmpfs) {
      std::string options = plan.size > 0 ? "size=" + std::to_string(plan.size) : "";
      unsigned long flags = kTmpfsFlags | (plan.read_only ? MS_RDONLY : 0);
      CheckSys(::mount("tmpfs", plan.target.c_str(), "tmpfs", flags, options.empty() ? nullptr : options.c_str()),
               "mount a tmpfs at " + plan.target);
      continue;
    }
    CheckSys(::syscall(SYS_move_mount, open.clone.get(), "", AT_FDCWD, plan.target.c_str(), MOVE_MOUNT_F_EMPTY_PATH),
             "mount at " + plan.target);
  }
}

}  // namespace bld::runner
