#include "runner/device_nodes.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <memory>

#include "runner/system_call.h"

namespace bld::runner {

namespace {

constexpr const char* kHostDev = "/dev";
constexpr const char* kAllPermissions = "rwm";
// What a privileged container does not take from the host's /dev: its ptys
// (and /dev/ptmx, a link into them), shared memory and message queues are
// its own, and the host's console is the host's.
constexpr std::string_view kSkippedHostDevEntries[] = {"pts", "shm", "mqueue", "console", "ptmx"};

bool ValidPermissions(std::string_view permissions) {
  if (permissions.empty()) return false;
  std::string seen;
  for (char c : permissions) {
    if (std::string_view(kAllPermissions).find(c) == std::string_view::npos) return false;
    if (seen.find(c) != std::string::npos) return false;
    seen += c;
  }
  return true;
}

std::vector<std::string_view> SplitColons(std::string_view spec) {
  std::vector<std::string_view> parts;
  for (size_t pos = 0;;) {
    size_t colon = spec.find(':', pos);
    parts.push_back(spec.substr(pos, colon == std::string_view::npos ? std::string_view::npos : colon - pos));
    if (colon == std::string_view::npos) return parts;
    pos = colon + 1;
  }
}

DeviceNode NodeOf(const std::string& path, const struct stat& st) {
  return {path, st.st_mode & (S_IFMT | 07777), major(st.st_rdev), minor(st.st_rdev), st.st_uid, st.st_gid};
}

void AddHostDevices(const std::string& dir, std::vector<DeviceNode>& out) {
  std::unique_ptr<DIR, int (*)(DIR*)> stream(::opendir(dir.c_str()), ::closedir);
  if (!stream) throw RunnerSysError("read " + dir);
  while (dirent* entry = ::readdir(stream.get())) {
    std::string_view name = entry->d_name;
    if (name.starts_with('.')) continue;
    if (dir == kHostDev && std::find(std::begin(kSkippedHostDevEntries), std::end(kSkippedHostDevEntries), name) !=
                               std::end(kSkippedHostDevEntries))
      continue;
    std::string path = dir + "/" + std::string(name);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;  // gone meanwhile
    if (S_ISDIR(st.st_mode)) {
      AddHostDevices(path, out);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      out.push_back(NodeOf(path, st));
    }
  }
}

}  // namespace

DeviceMapping ParseDevice(std::string_view spec) {
  std::vector<std::string_view> parts = SplitColons(spec);
  DeviceMapping mapping;
  mapping.host_path = std::string(parts[0]);
  switch (parts.size()) {
    case 1:
      mapping.container_path = mapping.host_path;
      break;
    case 2:
      if (ValidPermissions(parts[1])) {
        mapping.container_path = mapping.host_path;
        mapping.permissions = std::string(parts[1]);
      } else {
        mapping.container_path = std::string(parts[1]);
      }
      break;
    case 3:
      mapping.container_path = std::string(parts[1]);
      if (!ValidPermissions(parts[2])) throw Error("invalid device mode: " + std::string(parts[2]));
      mapping.permissions = std::string(parts[2]);
      break;
    default:
      throw Error("invalid device specification: " + std::string(spec));
  }
  if (mapping.host_path.empty() || mapping.host_path[0] != '/')
    throw Error("bad format for path: " + mapping.host_path);
  if (mapping.container_path.empty() || mapping.container_path[0] != '/')
    throw Error("bad format for path: " + mapping.container_path);
  if (!mapping.container_path.starts_with("/dev/") || mapping.container_path.find("/../") != std::string::npos ||
      mapping.container_path.ends_with("/.."))
    throw Error("--device " + std::string(spec) + ": bld makes devices only under /dev/ in the container");
  return mapping;
}

DeviceNode DeviceNodeOf(const DeviceMapping& mapping) {
  struct stat st;
  if (::stat(mapping.host_path.c_str(), &st) != 0)
    throw SysError("error gathering device information while adding custom device \"" + mapping.host_path + "\"");
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
    throw Error("error gathering device information while adding custom device \"" + mapping.host_path +
                "\": not a device node");
  return NodeOf(mapping.container_path, st);
}

std::vector<DeviceNode> HostDevices() {
  std::vector<DeviceNode> devices;
  AddHostDevices(kHostDev, devices);
  return devices;
}

DeviceRule DeviceRuleOf(const DeviceNode& node, const std::string& permissions) {
  return {S_ISBLK(node.mode) ? 'b' : 'c', static_cast<long>(node.major), static_cast<long>(node.minor), permissions};
}

}  // namespace bld::runner
