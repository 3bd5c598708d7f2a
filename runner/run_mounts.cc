#include "runner/run_mounts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <set>

#include "runner/lower_lookup.h"

namespace bld::runner {

namespace {

constexpr mode_t kMountDirMode = 0700;
// BuildKit's defaults for what a mount creates.
constexpr mode_t kDefaultCacheMode = 0755;
constexpr mode_t kDefaultSecretMode = 0400;
constexpr mode_t kDefaultSocketMode = 0600;
constexpr mode_t kPermissionBits = 07777;
constexpr const char* kAgentSocketName = "agent.sock";

void MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), kMountDirMode) != 0 && errno != EEXIST) throw RunnerSysError("create directory " + path);
}

// Gives `to` the owner, mode and times of `from`.
void Mirror(const std::string& from, const std::string& to) {
  struct stat st;
  CheckSys(::lstat(from.c_str(), &st), "inspect " + from);
  CheckSys(::lchown(to.c_str(), st.st_uid, st.st_gid), "set the owner of " + to);
  CheckSys(::chmod(to.c_str(), st.st_mode & kPermissionBits), "set the mode of " + to);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  CheckSys(::utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW), "set the times of " + to);
}

// The layer over the context that hides what .dockerignore leaves out: a
// whiteout for each hidden path, under directories that mirror the
// context's (overlayfs shows the topmost layer's directory attributes).
void MakeMask(const std::string& mask, const MountTree& tree) {
  MakeDir(mask);
  std::set<std::string> dirs = {""};
  for (const std::string& rel : tree.hidden) {
    for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
      std::string parent = rel.substr(0, slash);
      if (dirs.insert(parent).second) MakeDir(mask + "/" + parent);
    }
    std::string whiteout = mask + "/" + rel;
    CheckSys(::mknod(whiteout.c_str(), S_IFCHR | 0000, makedev(0, 0)), "create the whiteout " + whiteout);
  }
  // Children first: a directory's times are set after its last change.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
    Mirror(tree.context_dir + (it->empty() ? "" : "/" + *it), mask + (it->empty() ? "" : "/" + *it));
}

// The overlay that shows `tree`, in <dir>/<name>/: mounted at root/, with
// a throwaway upper/ (an `rw` bind's writes go there and are discarded).
OverlayLayers TreeOverlay(store::Store& store, const MountTree& tree, const std::string& base) {
  MakeDir(base);
  for (const char* sub : {"upper", "work", "root"}) MakeDir(base + "/" + sub);
  OverlayLayers overlay;
  overlay.upperdir = base + "/upper";
  overlay.workdir = base + "/work";
  if (tree.from_context) {
    MakeMask(base + "/mask", tree);
    overlay.lowerdirs = {base + "/mask", tree.context_dir};
  } else {
    overlay.lowerdirs = Snapshotter(store).Prepare(tree.layers);
    // overlayfs needs a lower layer: FROM scratch has none.
    if (overlay.lowerdirs.empty()) {
      MakeDir(base + "/empty");
      overlay.lowerdirs.push_back(base + "/empty");
    }
  }
  // The overlay's root shows the upper dir's owner and mode: the tree's.
  Mirror(overlay.lowerdirs.front(), overlay.upperdir);
  return overlay;
}

// Whether `tree.path` is a directory in the tree. Throws if it is not there.
bool TreePathIsDirectory(const MountTree& tree, const OverlayLayers& overlay, const std::string& target) {
  struct stat st;
  if (tree.from_context) {
    std::string path = tree.context_dir + (tree.path.empty() ? "" : "/" + tree.path);
    if (::stat(path.c_str(), &st) != 0)
      throw RunnerSysError("find " + (tree.path.empty() ? "the root" : tree.path) + " in the build context for the mount at " + target);
    return S_ISDIR(st.st_mode);
  }
  std::string resolved = ResolveInLowers(overlay.lowerdirs, "/" + tree.path);
  std::optional<LowerEntry> entry = LookUpInLowers(overlay.lowerdirs, resolved);
  if (!entry) throw Error("runner: " + tree.path + " is not in the source of the mount at " + target);
  return S_ISDIR(entry->st.st_mode);
}

}  // namespace

PreparedMounts PreparedMounts::Prepare(store::Store& store, const std::string& container_dir,
                                       const std::vector<StepMount>& mounts) {
  PreparedMounts prepared;
  if (mounts.empty()) return prepared;
  std::string mounts_dir = container_dir + "/mounts";
  MakeDir(mounts_dir);
  for (size_t i = 0; i < mounts.size(); ++i) {
    const StepMount& mount = mounts[i];
    std::string dir = mounts_dir + "/" + std::to_string(i);
    MakeDir(dir);
    MountPlan plan;
    plan.target = mount.target;
    plan.read_only = mount.read_only;
    switch (mount.type) {
      case StepMount::Type::kBind: {
        plan.kind = MountPlan::Kind::kTree;
        plan.overlay = TreeOverlay(store, *mount.tree, dir + "/tree");
        plan.root = dir + "/tree/root";
        plan.path = mount.tree->path;
        plan.directory = TreePathIsDirectory(*mount.tree, *plan.overlay, mount.target);
        break;
      }
      case StepMount::Type::kCache: {
        CacheOwner owner{static_cast<mode_t>(mount.mode.value_or(kDefaultCacheMode)), mount.uid.value_or(0),
                         mount.gid.value_or(0)};
        CacheLease lease = CacheMounts(store).Acquire(mount.cache_id, mount.sharing, owner);
        plan.kind = MountPlan::Kind::kTree;
        plan.root = lease.path();
        plan.path = mount.cache_path;
        if (lease.fresh() && mount.tree) {
          plan.seed = TreeOverlay(store, *mount.tree, dir + "/seed");
          plan.seed_root = dir + "/seed/root";
          plan.seed_path = mount.tree->path;
        }
        prepared.leases_.push_back(std::move(lease));
        break;
      }
      case StepMount::Type::kTmpfs:
        plan.kind = MountPlan::Kind::kTmpfs;
        plan.size = mount.size;
        break;
      case StepMount::Type::kSecret:
        plan.kind = MountPlan::Kind::kFile;
        plan.directory = false;
        plan.read_only = true;
        plan.root = dir + "/secret";
        MakeDir(plan.root);
        plan.content = mount.secret;
        plan.mode = static_cast<mode_t>(mount.mode.value_or(kDefaultSecretMode));
        plan.uid = mount.uid.value_or(0);
        plan.gid = mount.gid.value_or(0);
        break;
      case StepMount::Type::kSsh: {
        plan.kind = MountPlan::Kind::kTree;
        plan.directory = false;
        plan.read_only = false;
        plan.root = dir + "/" + kAgentSocketName;
        // Bound through the directory's descriptor: the store path may be
        // longer than a unix socket address holds.
        UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir_fd) throw RunnerSysError("open " + dir);
        std::string short_path = "/proc/self/fd/" + std::to_string(dir_fd.get()) + "/" + kAgentSocketName;
        prepared.relays_.push_back(std::make_unique<SocketRelay>(
            short_path, mount.agent_socket, mount.uid.value_or(0), mount.gid.value_or(0),
            static_cast<mode_t>(mount.mode.value_or(kDefaultSocketMode))));
        break;
      }
    }
    prepared.plans_.push_back(std::move(plan));
  }
  return prepared;
}

}  // namespace bld::runner
