// The device rules of a cgroup v2 host: a BPF program attached to the
// container's cgroup.
//
// The unified hierarchy has no device controller with devices.allow files;
// the kernel instead runs the BPF_PROG_TYPE_CGROUP_DEVICE programs attached
// to a task's cgroup and its ancestors on every mknod and every open of a
// device node, and refuses it (EPERM) unless all of them return 1. This is
// what Docker (through runc) does on such hosts. bld compiles the same
// DeviceRule list it writes into a v1 devices.allow (device_cgroup.h) into
// one such program: for each rule in turn, compare the device's type, the
// access asked for (a subset of the rule's r, w, m), the major and the minor
// number; the first rule that matches allows, and no match denies.
//
// The program is attached with BPF_F_ALLOW_MULTI, so programs that the
// cgroup's ancestors carry (systemd's, another runtime's) still apply: a
// container never gets more than its parent allows.
//
// Thread safety: the functions keep no state.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "runner/device_cgroup.h"

namespace bld::runner {

// The program's instructions for `rules` (the verifier's input).
std::vector<bpf_insn> DeviceFilterProgram(const std::vector<DeviceRule>& rules);

// Loads the program for `rules` and attaches it to the cgroup v2 directory
// `cgroup_dir`. Throws bld::Error naming the cgroup, with the verifier's
// log when it refuses the program. The attachment lives as long as the
// cgroup does.
void AttachDeviceFilter(const std::string& cgroup_dir, const std::vector<DeviceRule>& rules);

}  // namespace bld::runner
