// The exit codes bld reports for processes, as a shell and docker do.
#include "store/exit_codes.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace exit_code = bld::exit_code;

namespace {

// The waitpid status of a child that ran `body`.
int StatusOf(void (*body)()) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) body();
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

}  // namespace

TEST_CASE("a process killed by a signal ends with 128 plus the signal") {
  CHECK(exit_code::ForSignal(SIGINT) == 130);
  CHECK(exit_code::ForSignal(SIGKILL) == 137);
  CHECK(exit_code::ForSignal(SIGTERM) == 143);
  CHECK(exit_code::FromWaitStatus(StatusOf([] {
          ::raise(SIGKILL);
          ::_exit(0);
        })) == 137);
}

TEST_CASE("a process that exits reports its own exit code") {
  CHECK(exit_code::FromWaitStatus(StatusOf([] { ::_exit(0); })) == 0);
  CHECK(exit_code::FromWaitStatus(StatusOf([] { ::_exit(3); })) == 3);
}

TEST_CASE("setup failures, commands that cannot run and missing commands have docker's codes") {
  CHECK(exit_code::kSetupFailed == 125);
  CHECK(exit_code::kCannotExecute == 126);
  CHECK(exit_code::kNotFound == 127);
}
