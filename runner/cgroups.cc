#include "runner/cgroups.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>

namespace bld::runner {

namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
// The parent cgroup of every bld container.
constexpr const char* kParent = "bld";
// The CFS period Docker uses for --cpus: 100 ms, in microseconds.
constexpr int64_t kCpuPeriodMicros = 100000;
constexpr mode_t kCgroupDirMode = 0755;
// cgroup.controllers is one short line of names.
constexpr size_t kMaxControllersSize = 4096;

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), kCgroupDirMode) != 0 && errno != EEXIST) throw RunnerSysError("create cgroup " + path);
}

void WriteControl(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw RunnerSysError("open " + path);
  WriteAll(fd.get(), value, "write " + value + " to " + path);
}

int64_t CpuQuota(double cpus) { return static_cast<int64_t>(std::llround(cpus * kCpuPeriodMicros)); }

std::vector<std::string> CreateV2(const std::string& id, const Resources& r) {
  std::string root = kCgroupRoot;
  std::string controllers;
  ReadRegularFile(root + "/cgroup.controllers", kMaxControllersSize, controllers);
  auto need = [&](const char* controller, const char* flag) {
    if (controllers.find(controller) == std::string::npos)
      throw Error(std::string(flag) + ": the " + controller + " cgroup controller is not available on this host");
  };
  std::string enable;
  if (r.memory_bytes) need("memory", "--memory"), enable += " +memory";
  if (r.cpus) need("cpu", "--cpus"), enable += " +cpu";
  if (r.pids_limit) need("pids", "--pids-limit"), enable += " +pids";
  std::string parent = root + "/" + kParent;
  WriteControl(root + "/cgroup.subtree_control", enable.substr(1));
  MakeDir(parent);
  WriteControl(parent + "/cgroup.subtree_control", enable.substr(1));
  std::string dir = parent + "/" + id;
  MakeDir(dir);
  if (r.memory_bytes) WriteControl(dir + "/memory.max", std::to_string(r.memory_bytes));
  if (r.cpus) WriteControl(dir + "/cpu.max", std::to_string(CpuQuota(r.cpus)) + " " + std::to_string(kCpuPeriodMicros));
  if (r.pids_limit) WriteControl(dir + "/pids.max", std::to_string(r.pids_limit));
  return {dir};
}

std::vector<std::string> CreateV1(const std::string& id, const Resources& r) {
  struct Limit {
    const char* controller;
    const char* flag;
    bool wanted;
  };
  const Limit limits[] = {{"memory", "--memory", r.memory_bytes != 0},
                          {"cpu", "--cpus", r.cpus != 0},
                          {"pids", "--pids-limit", r.pids_limit != 0}};
  for (const Limit& limit : limits)
    if (limit.wanted && !Exists(std::string(kCgroupRoot) + "/" + limit.controller + "/tasks"))
      throw Error(std::string(limit.flag) + ": the " + limit.controller +
                  " cgroup controller is not available on this host");
  std::vector<std::string> dirs;
  try {
    for (const Limit& limit : limits) {
      if (!limit.wanted) continue;
      std::string parent = std::string(kCgroupRoot) + "/" + limit.controller + "/" + kParent;
      MakeDir(parent);
      std::string dir = parent + "/" + id;
      MakeDir(dir);
      dirs.push_back(dir);
      std::string controller = limit.controller;
      if (controller == "memory") {
        WriteControl(dir + "/memory.limit_in_bytes", std::to_string(r.memory_bytes));
      } else if (controller == "cpu") {
        WriteControl(dir + "/cpu.cfs_period_us", std::to_string(kCpuPeriodMicros));
        WriteControl(dir + "/cpu.cfs_quota_us", std::to_string(CpuQuota(r.cpus)));
      } else {
        WriteControl(dir + "/pids.max", std::to_string(r.pids_limit));
      }
    }
  } catch (const Error&) {
    RemoveCgroups(dirs);
    throw;
  }
  return dirs;
}

}  // namespace

std::vector<std::string> CreateCgroups(const std::string& id, const Resources& resources) {
  if (!resources.any()) return {};
  std::string controllers;
  if (ReadRegularFile(std::string(kCgroupRoot) + "/cgroup.controllers", kMaxControllersSize, controllers) &&
      !controllers.empty())
    return CreateV2(id, resources);
  return CreateV1(id, resources);
}

void RemoveCgroups(const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) ::rmdir(dir.c_str());
}

}  // namespace bld::runner
