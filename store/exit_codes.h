// The process exit codes bld gives and reports, as docker and a POSIX shell
// give them, in one place: the runner sets them for containers and exec'd
// commands, the cli exits with them, the registry reads them from credential
// helpers. store/ is the lowest module every one of those links.
//
// Thread safety: constants and pure functions.
#pragma once

#include <sys/wait.h>

namespace bld::exit_code {

// `docker run` and `docker exec` answer 125 when the container could not be
// set up (bld's own failure, not the command's), 126 when the command exists
// but cannot be executed, 127 when it is not found: the shell's convention,
// kept apart from whatever the command itself returns.
inline constexpr int kSetupFailed = 125;
inline constexpr int kCannotExecute = 126;
inline constexpr int kNotFound = 127;
// A process killed by signal N ends with 128 + N, as a shell reports it
// (130 for Ctrl-C, 137 for SIGKILL, 143 for SIGTERM).
inline constexpr int kSignalBase = 128;

constexpr int ForSignal(int signal) { return kSignalBase + signal; }

// The exit code a shell would report for a waitpid(2) status.
constexpr int FromWaitStatus(int status) {
  return WIFSIGNALED(status) ? ForSignal(WTERMSIG(status)) : WEXITSTATUS(status);
}

}  // namespace bld::exit_code
