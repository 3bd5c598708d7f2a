#include "runner/interrupt.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "runner/system_call.h"

namespace bld::runner {

namespace {

constexpr int kHandledSignals[] = {SIGINT, SIGTERM};

// Written by the handler, read anywhere: sig_atomic_t is what a handler may
// store to.
volatile sig_atomic_t g_signal = 0;
int g_pipe[2] = {-1, -1};

std::mutex g_scope_mutex;
int g_scope_count = 0;
struct sigaction g_previous[std::size(kHandledSignals)];

void OnSignal(int signal) {
  if (g_signal == 0) g_signal = signal;
  int saved_errno = errno;
  // Non-blocking: once the pipe holds a byte, later writes may fail, which
  // is fine since readable is all it has to be.
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], "!", 1);
  errno = saved_errno;
}

// A child forked without exec (a test's stand-in for bld, the forked child
// of `bld exec`) would share the pipe with its parent, and a signal the
// child takes would interrupt the parent's steps too: the child gets a pipe
// of its own, holding the record it inherited. pipe2, write and close are
// async-signal-safe, as a child handler's calls must be.
void GiveChildItsOwnPipe() {
  if (g_pipe[0] < 0) return;
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    // poll(2) skips a negative descriptor: the child then notices only
    // the signals that reach ThrowIfInterrupted.
    g_pipe[0] = g_pipe[1] = -1;
    return;
  }
  if (g_signal != 0) {
    [[maybe_unused]] ssize_t n = ::write(g_pipe[1], "!", 1);
  }
}

void CreatePipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    CheckSys(::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK), "create the interrupt pipe");
    if (int rc = ::pthread_atfork(nullptr, nullptr, GiveChildItsOwnPipe); rc != 0)
      throw RunnerSysError("register the interrupt pipe's fork handler", rc);
  });
}

std::string SignalName(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
}

}  // namespace

Interrupted::Interrupted(int signal) : Error("interrupted by " + SignalName(signal)), signal_(signal) {}

InterruptScope::InterruptScope() {
  CreatePipeOnce();
  std::lock_guard lock(g_scope_mutex);
  if (g_scope_count++ > 0) return;
  struct sigaction action {};
  action.sa_handler = OnSignal;
  // SA_RESTART: threads blocked in reads elsewhere (libarchive, LMDB) carry
  // on; the runner's own loops wait on InterruptFd instead of EINTR.
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < std::size(kHandledSignals); ++i)
    CheckSys(::sigaction(kHandledSignals[i], &action, &g_previous[i]), "install the interrupt handler");
}

InterruptScope::~InterruptScope() {
  std::lock_guard lock(g_scope_mutex);
  if (--g_scope_count > 0) return;
  for (size_t i = 0; i < std::size(kHandledSignals); ++i) ::sigaction(kHandledSignals[i], &g_previous[i], nullptr);
}

int InterruptFd() {
  CreatePipeOnce();
  return g_pipe[0];
}

int InterruptSignal() { return g_signal; }

void ThrowIfInterrupted() {
  if (int signal = g_signal; signal != 0) throw Interrupted(signal);
}

}  // namespace bld::runner
