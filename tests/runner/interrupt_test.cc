// Ctrl-C of bld during a RUN step, played by a forked child that runs the
// step as bld would and exits as the cli does.
#include "runner/interrupt.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "runner_test_support.h"
#include "support/isolation.h"
#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;

constexpr auto kDeadline = std::chrono::seconds(20);

// Waits for `pid` to exit; its exit code, or -1 if it is still running at
// the deadline (it is then killed).
int WaitWithDeadline(pid_t pid) {
  auto end = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

// Reads from `fd` until `marker` arrives or the deadline passes; what was
// read, which holds `marker` unless the deadline passed.
std::string ReadUntil(int fd, const std::string& marker) {
  std::string seen;
  auto end = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < end && seen.find(marker) == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[256];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    seen.append(buffer, static_cast<size_t>(n));
  }
  return seen;
}

// The container prints its PID namespace ("pid:[4026532281]", the same name
// inside and outside) before "started": the test then looks at the
// processes of that namespace only, never at the rest of the machine, where
// other tests and programs run `sleep` too.
constexpr std::string_view kScript = "readlink /proc/self/ns/pid; echo started; sleep 600";

// Kills what is left in the container's namespace and the forked bld if the
// test ends early, so that nothing is left holding the test's output pipe
// (ctest would wait for it until its timeout).
class KillOnExit {
 public:
  explicit KillOnExit(pid_t pid) : pid_(pid) {}
  ~KillOnExit() {
    if (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (pid_t leftover : ProcessesInPidNamespace(ns)) ::kill(leftover, SIGKILL);
  }
  std::string ns;

 private:
  pid_t pid_;
};

void CheckInterruptLeavesNothing(int signal, int expected_exit_code) {
  RunnerFixture fixture;
  fixture.CloseStore();
  std::vector<std::string> mounts_before = MountPointsUnder(fixture.root());

  int marker[2];
  REQUIRE(::pipe(marker) == 0);
  pid_t bld = ::fork();
  REQUIRE(bld >= 0);
  if (bld == 0) {
    ::close(marker[0]);
    int code = 0;
    try {
      std::unique_ptr<store::Store> store = store::Store::Open(fixture.root());
      runner::StepSpec spec;
      spec.layers = {fixture.base()};
      spec.run.argv = {"/bin/sh", "-c", std::string(kScript)};
      runner::RunStep(*store, spec, [&](std::string_view line) {
        std::string text = std::string(line) + "\n";
        [[maybe_unused]] ssize_t n = ::write(marker[1], text.data(), text.size());
      });
    } catch (const runner::Interrupted& e) {
      code = e.exit_code();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "step failed: %s\n", e.what());
      code = 1;
    }
    ::_exit(code);
  }
  ::close(marker[1]);
  KillOnExit cleanup(bld);
  std::string seen = ReadUntil(marker[0], "started");
  ::close(marker[0]);
  REQUIRE(seen.find("started") != std::string::npos);
  cleanup.ns = seen.substr(0, seen.find('\n'));
  REQUIRE(cleanup.ns.starts_with("pid:["));
  auto end = std::chrono::steady_clock::now() + kDeadline;
  while (ProcessesInPidNamespace(cleanup.ns, "sleep").empty() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(ProcessesInPidNamespace(cleanup.ns, "sleep").size() == 1);
  ::kill(bld, signal);
  CHECK(WaitWithDeadline(bld) == expected_exit_code);

  CHECK(MountPointsUnder(fixture.root()) == mounts_before);
  CHECK(fs::is_empty(fixture.root() + "/containers"));
  for (const fs::directory_entry& entry : fs::directory_iterator(fixture.root() + "/snapshots"))
    CHECK_FALSE(entry.path().filename().string().starts_with("tmp-"));
  CHECK(ProcessesInPidNamespace(cleanup.ns).empty());
}

TEST_CASE("SIGINT during a step kills the container, removes its directory and exits 130") {
  CheckInterruptLeavesNothing(SIGINT, 130);
}

TEST_CASE("SIGTERM during a step kills the container, removes its directory and exits 143") {
  CheckInterruptLeavesNothing(SIGTERM, 143);
}

TEST_CASE("an interrupt scope records SIGINT instead of dying, and the default returns after it") {
  int code = RunInChild([] {
    // Catch2 handles SIGINT itself; the scope must fall back to the default.
    ::signal(SIGINT, SIG_DFL);
    {
      runner::InterruptScope scope;
      ::raise(SIGINT);
      pollfd p{runner::InterruptFd(), POLLIN, 0};
      if (::poll(&p, 1, 0) != 1) throw std::runtime_error("the interrupt descriptor is not readable");
      if (runner::InterruptSignal() != SIGINT) throw std::runtime_error("SIGINT was not recorded");
      try {
        runner::ThrowIfInterrupted();
        throw std::runtime_error("ThrowIfInterrupted did not throw");
      } catch (const runner::Interrupted& e) {
        if (e.exit_code() != 130 || std::string(e.what()) != "interrupted by SIGINT") throw;
      }
    }
    ::raise(SIGINT);
  });
  CHECK(code == 128 + SIGINT);
}

TEST_CASE("a signal a forked child takes does not interrupt its parent") {
  // The parent's pipe exists before the fork, as in a process that has
  // run a step.
  int parent_fd = runner::InterruptFd();
  int code = RunInChild([] {
    ::signal(SIGINT, SIG_DFL);
    runner::InterruptScope scope;
    ::raise(SIGINT);
    pollfd p{runner::InterruptFd(), POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) throw std::runtime_error("the child's interrupt descriptor is not readable");
  });
  REQUIRE(code == 0);
  pollfd p{parent_fd, POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 0);
  CHECK(runner::InterruptSignal() == 0);
}

}  // namespace
}  // namespace bld::testing
