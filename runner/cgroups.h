// Resource limits of a `bld run` container (--memory, --cpus, --pids-limit)
// through cgroups, v2 or v1, whichever the host has.
//
// On a host with the unified hierarchy (cgroup2 at /sys/fs/cgroup with
// controllers), one cgroup /sys/fs/cgroup/bld/<id> gets memory.max, cpu.max
// and pids.max, after the controllers are enabled in the subtree_control of
// its parents. On a v1 or hybrid host (cgroup2 without controllers, v1
// hierarchies per controller), each limit gets a cgroup in its controller's
// hierarchy: memory/bld/<id> (memory.limit_in_bytes), cpu/bld/<id>
// (cpu.cfs_quota_us over cpu.cfs_period_us) and pids/bld/<id> (pids.max).
// A limit whose controller the host lacks is an error naming it, before
// anything starts. The container's setup process joins the cgroups first
// (container.h: ContainerSpec::cgroup_procs), so all it starts is limited.
//
// The cgroups are removed when the container ends (the monitor does it);
// a cgroup can only be removed once no process is left in it.
//
// Thread safety: the functions keep no state.
#pragma once

#include <string>
#include <vector>

#include "runner/container_state.h"

namespace bld::runner {

// Creates and configures the cgroups for `resources` (none when it sets no
// limit) and returns their directories.
std::vector<std::string> CreateCgroups(const std::string& id, const Resources& resources);

// Removes the cgroups; those that cannot be removed are left.
void RemoveCgroups(const std::vector<std::string>& dirs);

}  // namespace bld::runner
