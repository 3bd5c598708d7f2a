// How the runner talks to the kernel: descriptors owned by RAII, and failed
// system calls turned into errors that name the step, its object and errno.
//
// Container setup is a long chain of system calls, and when one of them fails
// the user must see which one, on what, and why:
//   runner: pivot_root into /var/lib/bld/containers/3f…/rootfs: Invalid argument
// Every runner error about a system call has that shape.
//
// Thread safety: a UniqueFd is owned by one thread at a time; the functions
// keep no state.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

#include "store/error.h"
#include "store/unique_fd.h"

namespace bld::runner {

using UniqueFd = store::UniqueFd;

// "runner: <what>: <strerror(err)>".
inline Error RunnerSysError(std::string_view what, int err = errno) {
  return SysError("runner: " + std::string(what), err);
}

// Returns `rc` unless it is negative (the kernel's failure convention), in
// which case it throws RunnerSysError(what).
inline long CheckSys(long rc, std::string_view what) {
  if (rc < 0) throw RunnerSysError(what);
  return rc;
}

// Writes all of `data`, retrying short writes and EINTR.
void WriteAll(int fd, std::string_view data, std::string_view what);

// Everything a pipe delivers until its writers close it (an error message a
// child sends before it exits); read errors end the data.
std::string ReadUntilClosed(int fd);

// waitpid(pid) retried on EINTR; the wait status.
int WaitForPid(pid_t pid);

// mkdir -p in the current root (inside a container: the container's): each
// missing directory of the absolute `path` gets `mode`. `what` begins the
// error ("create mount point").
void MakeDirectories(const std::string& path, mode_t mode, std::string_view what);

// Writes `content` to a new file `path` (replacing one that exists) with
// `mode`, whatever the process umask.
void WriteFileWithMode(const std::string& path, std::string_view content, mode_t mode);

// The whole content of a regular file, refusing anything that is not one (a
// FIFO would block, /dev/zero would never end) or that is larger than
// `max_size`. Returns false if the file does not exist.
bool ReadRegularFile(const std::string& path, size_t max_size, std::string& content);

// Opens `path` inside the directory `root_fd` as if it were `/`: symlinks
// and `..` resolve inside it, so nothing outside is reachable
// (openat2 RESOLVE_IN_ROOT). `flags` as open(2)'s; O_CLOEXEC is added. An
// invalid descriptor (errno set) when it cannot be opened.
UniqueFd OpenInRoot(int root_fd, const std::string& path, int flags);

}  // namespace bld::runner
