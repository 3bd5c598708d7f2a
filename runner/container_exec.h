// `bld exec`: a new process in a running container.
//
// The process joins every namespace of the container's PID 1 with setns(2)
// on /proc/<pid>/ns/*: ipc, uts, net, pid, then mnt last, because joining
// the mount namespace changes the root and the later opens of /proc/<pid>/ns
// would resolve in the container's /proc. Joining a PID namespace does not
// move the caller, only its future children, so the joined process forks
// once more: the child is in the container's PID namespace (its PID 1 kills
// it when it ends) and runs the command with the container's user lookup,
// environment, working directory, capabilities, seccomp filter, no_new_privs
// and rlimits (its ContainerSecurity), as container.h sets them up. bld is
// never inside: the setns calls happen in a forked child, and the cgroups of
// the container (its limits, its device rules) are joined as well.
//
// Thread safety: ExecInContainer forks; bld's other threads are not copied.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runner/container.h"
#include "runner/container_state.h"

namespace bld::runner {

struct ExecSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // added to (and replacing keys of) the container's
  std::string user;              // empty: the container's
  std::string workdir;           // empty: the container's
  bool interactive = false;      // pass stdin
  bool tty = false;              // a pseudo-terminal as stdio
  // docker exec --privileged: every capability bld holds and no seccomp
  // filter for this process; the container's mounts, masked paths and
  // device cgroup stay as they are, as in Docker.
  bool privileged = false;
};

// Runs the command and relays stdio (bld's 0, 1, 2) until it ends; returns
// how it ended. Throws StartError when it cannot be started (exit code 126 or
// 127 for the exec, as docker exec), and "Container x is not running".
ExitStatus ExecInContainer(const store::Store& store, const ContainerRecord& record, const ExecSpec& spec);

}  // namespace bld::runner
