// Looking at processes and mounts the way a test may: only at its own.
//
// Tests run beside each other (ctest -j) and beside whatever else the
// machine does, so a test that compares the whole mount table or counts
// processes by name machine-wide fails when anything else mounts, unmounts
// or runs `sleep`. These helpers select by what only the test's own
// objects have: a directory the test created, the PID namespace of a
// container it started, the descendants of a process it forked.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace bld::testing {

// The mount points at or under `dir` in this process's mount table
// (/proc/self/mountinfo), in table order.
std::vector<std::string> MountPointsUnder(const std::string& dir);

// The PID namespace of `pid` as /proc/<pid>/ns/pid names it
// ("pid:[4026532281]"); empty if the process is gone (or a zombie).
std::string PidNamespaceOf(pid_t pid);

// The live processes in the PID namespace `ns` whose argv[0] is `argv0` (any
// when empty). A namespace is the container's own: nothing else runs in it.
std::vector<pid_t> ProcessesInPidNamespace(const std::string& ns, const std::string& argv0 = "");

// The live descendants of `pid` (children, their children, ...).
std::vector<pid_t> DescendantsOf(pid_t pid);

// The live processes whose command line (arguments joined by spaces)
// satisfies `match`. Only for command lines that name something of the
// test's own, such as a container's random ID.
std::vector<pid_t> ProcessesWhere(const std::function<bool(const std::string& command_line)>& match);

}  // namespace bld::testing
