#include "runner/device_cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

bool HasDeviceController() {
  struct stat st;
  return ::stat((std::string(kDeviceHierarchy) + "/devices.allow").c_str(), &st) == 0;
}

std::string DeviceCgroupDir(const std::string& id) {
  return std::string(kDeviceHierarchy) + "/" + kParent + "/" + id;
}

std::string CreateDeviceCgroup(const std::string& id, const std::vector<DeviceRule>& rules) {
  if (!HasDeviceController()) return "";
  std::string parent = std::string(kDeviceHierarchy) + "/" + kParent;
  if (::mkdir(parent.c_str(), kCgroupDirMode) != 0 && errno != EEXIST)
    throw RunnerSysError("create cgroup " + parent);
  std::string dir = DeviceCgroupDir(id);
  CheckSys(::mkdir(dir.c_str(), kCgroupDirMode), "create cgroup " + dir);
  try {
    // A new cgroup starts with its parent's rules; "a" takes them all away.
    Write(dir + "/devices.deny", "a");
    for (const DeviceRule& rule : rules) Write(dir + "/devices.allow", rule.Line());
  } catch (const Error&) {
    ::rmdir(dir.c_str());
    throw;
  }
  return dir;
}

void RemoveDeviceCgroup(const std::string& id) { ::rmdir(DeviceCgroupDir(id).c_str()); }

}  // namespace bld::runner
