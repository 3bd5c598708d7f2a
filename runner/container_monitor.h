// The monitor of a `bld run` container: the process that starts it and
// stays its parent until it ends.
//
// With -d, bld starts itself again as the monitor (`bld container-monitor`,
// in a session of its own, its stdio on /dev/null) and exits once the
// command runs; in the foreground, bld is the monitor. Either way the
// monitor:
//   - holds the lock of the container's directory (container_state.h), so
//     that `bld ps` knows the container is alive exactly while it lives;
//   - is the parent of the container's PID 1, whose parent-death signal
//     kills the container if the monitor is killed: nothing runs unwatched;
//   - binds the published ports before the start and forwards them once
//     the command runs (port_forwarder.h);
//   - writes the command's output to the log (container_log.h), and in the
//     foreground to bld's stdout and stderr as well, with bld's stdin passed
//     to the command for -i, and a pseudo-terminal for -t;
//   - passes SIGINT, SIGTERM, SIGHUP and SIGQUIT it receives on to PID 1;
//   - records "running" (PID 1 and its start time) and then the exit code,
//     and with --rm removes the container and its anonymous volumes.
//
// Thread safety: MonitorContainer blocks signals and starts threads in the
// calling process; call it from a process's main thread, once.
#pragma once

#include <functional>
#include <string>

#include "runner/container.h"
#include "runner/system_call.h"
#include "store/store.h"

namespace bld::runner {

struct MonitorIo {
  // bld's stdio in the foreground; -1 each when detached.
  int in = -1;
  int out = -1;
  int err = -1;
};

// Runs the container `id` (its record written by the caller, in state
// "created") until it ends, holding `lock` (CreateContainerDir); returns how
// it ended. `on_started` is called once the command was exec'd. Throws
// StartError (after recording it) when the command cannot be started.
ExitStatus MonitorContainer(store::Store& store, const std::string& id, UniqueFd lock, const MonitorIo& io,
                            const std::function<void()>& on_started);

// The exit code `docker run` and `docker ps` show for a status: the code, or
// 128 + the signal.
int ExitCodeOf(const ExitStatus& status);

}  // namespace bld::runner
