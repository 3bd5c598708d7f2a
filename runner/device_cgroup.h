// Which device nodes a container may open: the device cgroup.
//
// Root in a container keeps CAP_MKNOD (Docker's default set), so it can make
// a node for any device, the host's disks included. What stops it reading
// them is the device controller: Docker lets a container make any node but
// open only its own few devices (null, zero, full, random, urandom, tty,
// console, ptmx, ptys, tun) and those given with `--device`, with the
// permissions given there (r, w, m). DefaultDeviceRules is that list, as
// Docker and runc write it.
//
// Where the host has the v1 device controller, bld writes the rules into
// its cgroup /sys/fs/cgroup/devices/bld/<container id>. On a cgroup v2 host
// (the unified hierarchy at /sys/fs/cgroup, or at /sys/fs/cgroup/unified
// beside v1 controllers without the device one) the rules become a BPF
// program attached to <hierarchy>/bld/<container id> (device_filter.h), as
// runc does. The container's setup joins the cgroup before anything else
// (ContainerSpec::cgroup_procs), and bld removes it when the container has
// ended. A privileged container gets no device cgroup: it may use every
// device, as in Docker. A host with neither (no cgroup file system at all)
// has no device cgroup: HasDeviceController says so, and `--device` with
// permissions other than rwm is refused there, since nothing could enforce
// them.
//
// Thread safety: the functions keep no state.
#pragma once

#include <string>
#include <vector>

namespace bld::runner {

// One line of devices.allow: "c 1:3 rwm", "b *:* m".
struct DeviceRule {
  char type = 'c';  // 'c', 'b' or 'a'
  long major = -1;  // -1: any
  long minor = -1;
  std::string access = "rwm";

  std::string Line() const;
  friend bool operator==(const DeviceRule&, const DeviceRule&) = default;
};

// Docker's: mknod of anything, and the container's own devices.
std::vector<DeviceRule> DefaultDeviceRules();

// True when device rules can be enforced: the v1 device controller or a
// cgroup v2 hierarchy is there.
bool HasDeviceController();

// The mount point of the cgroup v2 hierarchy; "" when there is none.
std::string UnifiedHierarchy();

// The device cgroup of container `id` (whether or not it exists); "" on a
// host without a device controller.
std::string DeviceCgroupDir(const std::string& id);

// Creates the container's device cgroup allowing only `rules` and returns
// its directory; "" on a host without a device controller.
std::string CreateDeviceCgroup(const std::string& id, const std::vector<DeviceRule>& rules);

// Removes the device cgroup of container `id` if it exists and is empty: a
// container whose runner or monitor was killed with SIGKILL leaves it, and
// `bld rm` and `bld prune` call this once the container is known to be gone.
void RemoveDeviceCgroup(const std::string& id);

}  // namespace bld::runner
