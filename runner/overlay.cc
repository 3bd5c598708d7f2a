#include "runner/overlay.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <utility>

#include "runner/system_call.h"

namespace bld::runner {

namespace {

// Options that keep the upper dir a plain diff (see the header).
constexpr std::pair<const char*, const char*> kDiffOptions[] = {
    {"index", "off"}, {"redirect_dir", "off"}, {"metacopy", "off"}, {"xino", "off"}};
constexpr const char* kVolatileFlag = "volatile";

struct RelativeLayers {
  std::string base;                    // the directory to chdir into
  std::vector<std::string> lowerdirs;  // relative to base
  std::string upperdir;
  std::string workdir;
};

RelativeLayers MakeRelative(const OverlayLayers& layers) {
  if (layers.lowerdirs.empty()) throw Error("runner: an overlay mount needs at least one lower directory");
  namespace fs = std::filesystem;
  RelativeLayers relative;
  fs::path base = fs::path(layers.lowerdirs.back()).parent_path();
  relative.base = base.string();
  auto to_relative = [&](const std::string& path) { return fs::path(path).lexically_relative(base).string(); };
  for (const std::string& lower : layers.lowerdirs) relative.lowerdirs.push_back(to_relative(lower));
  relative.upperdir = to_relative(layers.upperdir);
  relative.workdir = to_relative(layers.workdir);
  return relative;
}

[[noreturn]] void FailMount(const std::string& what) {
  int err = errno;
  // overlayfs explains an EINVAL (a bad path, a workdir inside the upperdir,
  // a feature this kernel lacks) only in the kernel log.
  throw Error("runner: " + what + ": " + std::strerror(err) +
              (err == EINVAL ? " (the kernel log, dmesg, says why)" : ""));
}

// Returns false, having done nothing, when the kernel does not know
// "lowerdir+".
bool MountWithFsconfig(const RelativeLayers& layers, const std::string& target) {
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) throw RunnerSysError("open an overlay filesystem context");
  for (size_t i = 0; i < layers.lowerdirs.size(); ++i) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", layers.lowerdirs[i].c_str(), 0) == 0) continue;
    if (i == 0 && errno == EINVAL) return false;
    FailMount("add lower directory " + layers.lowerdirs[i] + " to the overlay");
  }
  auto set = [&](const char* key, const std::string& value) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0)
      FailMount(std::string("set overlay option ") + key + "=" + value);
  };
  set("upperdir", layers.upperdir);
  set("workdir", layers.workdir);
  for (const auto& [key, value] : kDiffOptions) set(key, value);
  if (::fsconfig(fs.get(), FSCONFIG_SET_FLAG, kVolatileFlag, nullptr, 0) != 0)
    FailMount(std::string("set overlay option ") + kVolatileFlag);
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    FailMount("create the overlay filesystem for " + target);
  UniqueFd mount(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mount) FailMount("mount the overlay filesystem for " + target);
  CheckSys(::move_mount(mount.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH),
           "attach the overlay at " + target);
  return true;
}

void MountWithMountCall(const RelativeLayers& layers, const std::string& target) {
  std::string options = "lowerdir=";
  for (size_t i = 0; i < layers.lowerdirs.size(); ++i) {
    if (i > 0) options += ':';
    options += layers.lowerdirs[i];
  }
  options += ",upperdir=" + layers.upperdir + ",workdir=" + layers.workdir;
  for (const auto& [key, value] : kDiffOptions) options += std::string(",") + key + "=" + value;
  options += std::string(",") + kVolatileFlag;
  // The kernel copies at most one page of mount data and cuts the rest.
  size_t limit = static_cast<size_t>(::sysconf(_SC_PAGESIZE)) - 1;
  if (options.size() > limit)
    throw Error("runner: the overlay options for " + std::to_string(layers.lowerdirs.size()) + " layers take " +
                std::to_string(options.size()) + " bytes, more than the " + std::to_string(limit) +
                " that mount(2) accepts; Linux 6.8 or later mounts any number of layers");
  if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0)
    FailMount("mount the overlay at " + target);
}

}  // namespace

void MountOverlay(const OverlayLayers& layers, const std::string& target, OverlayMountApi api) {
  RelativeLayers relative = MakeRelative(layers);
  // The target is resolved after the chdir below: make it absolute first.
  std::string absolute_target = std::filesystem::absolute(target).string();
  CheckSys(::chdir(relative.base.c_str()), "change directory to " + relative.base);
  if (api == OverlayMountApi::kBest && MountWithFsconfig(relative, absolute_target)) return;
  MountWithMountCall(relative, absolute_target);
}

}  // namespace bld::runner
