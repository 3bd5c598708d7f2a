// Host devices given to a container: `--device HOST[:CTR[:PERMS]]`, and
// every device of the host's /dev for a privileged container.
//
// bld looks each one up on the host (following symlinks, as Docker does),
// and the container's setup makes a node with the same type, numbers, mode
// and owner in the container's /dev (mounts.h), where the device cgroup
// (device_cgroup.h) lets the container use it with the permissions given.
// Container paths must lie under /dev: the rest of the root is the
// container's upper dir, where a node would end up in a commit.
//
// Thread safety: the functions keep no state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runner/device_cgroup.h"
#include "runner/mounts.h"

namespace bld::runner {

struct DeviceMapping {
  std::string host_path;
  std::string container_path;
  std::string permissions = "rwm";  // r, w and m, each at most once

  friend bool operator==(const DeviceMapping&, const DeviceMapping&) = default;
};

// Docker's parsing of `--device`: HOST, HOST:CTR, HOST:PERMS or
// HOST:CTR:PERMS. Throws bld::Error with Docker's wording.
DeviceMapping ParseDevice(std::string_view spec);

// The node to make for `mapping`, from the host device it names. Throws
// bld::Error when the host path is not a device node.
DeviceNode DeviceNodeOf(const DeviceMapping& mapping);

// Every character and block device under the host's /dev (not the ptys,
// shm, mqueue or the console), at the same paths.
std::vector<DeviceNode> HostDevices();

// The device cgroup rule that lets the container use `node` as `permissions`.
DeviceRule DeviceRuleOf(const DeviceNode& node, const std::string& permissions);

}  // namespace bld::runner
