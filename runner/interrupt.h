// Ctrl-C and SIGTERM while the runner works: stop the container, clean up,
// then let the caller exit.
//
// A RUN step owns things that outlive bld if it simply dies: a container
// process tree, a directory of several gigabytes under containers/, a
// half-unpacked snapshot. So while an InterruptScope is alive, SIGINT and
// SIGTERM do not kill bld; they are recorded, and every wait in the runner
// (the container's output loop, the read loop of a layer unpack, the write
// loop of a layer diff) notices them, kills what it started, removes what it
// created, and throws Interrupted. The cli catches Interrupted and exits with
// 128 + the signal number (130 for Ctrl-C), as a shell does.
//
// The record is process-wide and sticky: once a signal arrived, every running
// and later step of this process is interrupted too, so two parallel RUN
// steps both stop. The signal handler only writes one byte to a pipe that is
// never drained (async-signal-safe), so "interrupted" is a readable file
// descriptor that poll(2) loops wait on beside their other descriptors.
//
// Thread safety: scopes may be created and destroyed from any thread and may
// overlap; the first installs the handlers, the last restores the previous
// ones. The functions may be called from any thread.
#pragma once

#include "store/error.h"
#include "store/exit_codes.h"

namespace bld::runner {

class Interrupted : public Error {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }
  // What a shell would return for a process killed by the signal.
  int exit_code() const { return exit_code::ForSignal(signal_); }

 private:
  int signal_;
};

// A step its caller stopped (Container::Wait's cancel descriptor): the build
// failed elsewhere, and this step's container was killed and removed.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled: another step of the build failed") {}
};

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};

// A descriptor that becomes readable (and stays so) once SIGINT or SIGTERM
// arrived inside a scope. Never read from it.
int InterruptFd();

// The signal that interrupted the process, or 0.
int InterruptSignal();

// Throws Interrupted if a signal arrived.
void ThrowIfInterrupted();

}  // namespace bld::runner
