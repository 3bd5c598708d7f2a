// What `bld stop`, `bld kill` and `bld rm` do to a container that another
// process (its monitor, container_monitor.h) watches.
//
// They act on PID 1 through a pidfd checked against the recorded start time
// (container_state.h: OpenContainerProcess), so a PID reused after the
// container ended is never signalled, and then wait for the monitor to
// record the end (the directory's lock is released) before they return: once
// `bld stop` returns, `bld ps -a` says "Exited".
//
// Thread safety: the functions may be called from any thread and process.
#pragma once

#include <string>

#include "runner/container_state.h"
#include "store/store.h"

namespace bld::runner {

// The signal number of "SIGTERM", "TERM", "15"; throws for an unknown name.
int ParseSignal(std::string_view name);

// Sends `signal` to PID 1; throws "Container x is not running" if it is not.
void KillContainer(const store::Store& store, const ContainerRecord& record, int signal);

// Sends the stop signal (the image's STOPSIGNAL, else SIGTERM), waits
// `timeout_seconds` for the container to end, then SIGKILL; returns when the
// monitor is gone. A container that does not run is left as it is.
void StopContainer(const store::Store& store, const ContainerRecord& record, int timeout_seconds);

// Removes the container's directory and record, and with `volumes` its
// anonymous volumes. Refuses a running container unless `force`, with which
// it is killed first.
void RemoveContainer(store::Store& store, const ContainerRecord& record, bool force, bool volumes);

}  // namespace bld::runner
