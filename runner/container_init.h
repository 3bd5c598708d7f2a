// A container's first process: bld itself, executed again.
//
// bld has threads (parallel stages, compressors), and after fork() only
// async-signal-safe calls are safe in the child: another thread may have
// held the malloc lock, or any other lock, at the moment of the fork. So
// the container's setup never runs in a forked copy of bld. SpawnInit
// prepares everything first (the InitPlan, written into a memfd; the
// argv; the descriptors to hand over), then clone(2)s straight into the
// container's new namespaces, and the child makes only system calls that
// are async-signal-safe (fcntl, dup2, execve, write, _exit) to put the
// handed-over descriptors at fixed numbers and execute /proc/self/exe as
// "bld-container-init". That fresh, single-threaded bld (a program that
// starts containers calls RunContainerInitIfRequested first thing in
// main) reads the plan and sets the container up, in the order the kernel
// needs it (see container.h), then:
//   - for a command: drops to the user and capabilities and execs it;
//   - for a file step (file_step.h): mounts the bare overlay root,
//     chroots into it, carries out the FilePlan and exits.
// A failed step reaches bld as a message on the setup error pipe, with the
// exit code docker gives it, and the init exits 125.
//
// Thread safety: SpawnInit may be called from any thread; the init side
// runs only in the init process.
#pragma once

#include <sys/types.h>

#include <exception>
#include <string>

#include "runner/init_plan.h"
#include "runner/system_call.h"

namespace bld::runner {

struct SpawnedInit {
  pid_t pid = -1;
  UniqueFd pidfd;
};

// Starts the init of a container described by `plan` (descriptors as bld
// sees them) in new namespaces: `clone_flags` are CLONE_NEW* flags. The
// init is bld's child. Throws if the clone fails; setup failures inside
// arrive on plan.error_fd.
SpawnedInit SpawnInit(InitPlan plan, int clone_flags);

// If this process was started as a container's init, runs it and never
// returns; otherwise returns at once. Call first thing in main().
void RunContainerInitIfRequested(int argc, char** argv);

// The last steps of every container process, shared by a container's init
// and `bld exec` (container_exec.h), after the process is in the
// container's namespaces and root: resolve the user in the image, complete
// the environment, create the working directory, set the rlimits, the
// capabilities, the seccomp filter and no_new_privs of `security`, switch to
// the user, chdir, and exec. The parent-death signal is checked against
// `error_fd` (the setup error pipe) just before the exec.
[[noreturn]] void ExecCommand(const RunConfig& run, const ProcessSecurity& security, int error_fd);

// Makes `stdio` the process's fds 0, 1 and 2 (the caller has moved them
// above 2 first), or the pty it opens in the current root for a console
// socket; every other descriptor is closed at exec.
void ConnectStdio(const StdioFds& stdio);

// Writes what `e` says about a failed setup to the setup error pipe, with the
// exit code docker gives it; ThrowSetupError, on the other end, throws it as
// a StartError.
void ReportSetupError(int error_fd, const std::exception& e);
[[noreturn]] void ThrowSetupError(const std::string& message);

}  // namespace bld::runner
