#include "runner/device_cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "runner/device_filter.h"
#include "runner/system_call.h"

namespace bld::runner {

namespace {

constexpr const char* kDeviceHierarchy = "/sys/fs/cgroup/devices";
// The parent cgroup of every bld container, as for the other controllers
// (cgroups.h).
constexpr const char* kParent = "bld";
constexpr mode_t kCgroupDirMode = 0755;
// The device numbers of Linux's devices.txt.
constexpr long kMemMajor = 1;  // null 3, zero 5, full 7, random 8, urandom 9
constexpr long kTtyMajor = 5;  // tty 0, console 1, ptmx 2
constexpr long kMiscMajor = 10;
constexpr long kTunMinor = 200;
constexpr long kPtsMajor = 136;

void Write(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw RunnerSysError("open " + path);
  WriteAll(fd.get(), value, "write " + value + " to " + path);
}

std::string Number(long n) { return n < 0 ? "*" : std::to_string(n); }

bool HasV1DeviceController() {
  struct stat st;
  return ::stat((std::string(kDeviceHierarchy) + "/devices.allow").c_str(), &st) == 0;
}

// v1: the rules as lines of devices.allow, after taking the parent's away.
void WriteV1Rules(const std::string& dir, const std::vector<DeviceRule>& rules) {
  Write(dir + "/devices.deny", "a");
  for (const DeviceRule& rule : rules) Write(dir + "/devices.allow", rule.Line());
}

}  // namespace

std::string DeviceRule::Line() const {
  if (type == 'a') return "a *:* " + access;
  return std::string(1, type) + " " + Number(major) + ":" + Number(minor) + " " + access;
}

std::vector<DeviceRule> DefaultDeviceRules() {
  return {
      {'c', -1, -1, "m"},         {'b', -1, -1, "m"},           {'c', kMemMajor, 3, "rwm"},
      {'c', kMemMajor, 5, "rwm"}, {'c', kMemMajor, 7, "rwm"},   {'c', kMemMajor, 8, "rwm"},
      {'c', kMemMajor, 9, "rwm"}, {'c', kTtyMajor, 0, "rwm"},   {'c', kTtyMajor, 1, "rwm"},
      {'c', kTtyMajor, 2, "rwm"}, {'c', kMiscMajor, kTunMinor, "rwm"}, {'c', kPtsMajor, -1, "rwm"},
  };
}

std::string UnifiedHierarchy() {
  for (const char* path : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs fs;
    if (::statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) return path;
  }
  return "";
}

bool HasDeviceController() { return HasV1DeviceController() || !UnifiedHierarchy().empty(); }

std::string DeviceCgroupDir(const std::string& id) {
  std::string hierarchy = HasV1DeviceController() ? kDeviceHierarchy : UnifiedHierarchy();
  if (hierarchy.empty()) return "";
  return hierarchy + "/" + kParent + "/" + id;
}

std::string CreateDeviceCgroup(const std::string& id, const std::vector<DeviceRule>& rules) {
  std::string dir = DeviceCgroupDir(id);
  if (dir.empty()) return "";
  std::string parent = dir.substr(0, dir.rfind('/'));
  if (::mkdir(parent.c_str(), kCgroupDirMode) != 0 && errno != EEXIST)
    throw RunnerSysError("create cgroup " + parent);
  bool v1 = dir.starts_with(kDeviceHierarchy);
  // On cgroup v2 a process is in one cgroup only: a `bld run` container's
  // resource limits (cgroups.h) may have made it already, and the filter
  // goes onto that one.
  bool created = ::mkdir(dir.c_str(), kCgroupDirMode) == 0;
  if (!created && (v1 || errno != EEXIST)) throw RunnerSysError("create cgroup " + dir);
  try {
    if (v1)
      WriteV1Rules(dir, rules);
    else
      AttachDeviceFilter(dir, rules);
  } catch (const Error&) {
    if (created) ::rmdir(dir.c_str());
    throw;
  }
  return dir;
}

void RemoveDeviceCgroup(const std::string& id) {
  std::string dir = DeviceCgroupDir(id);
  if (!dir.empty()) ::rmdir(dir.c_str());
}

}  // namespace bld::runner
