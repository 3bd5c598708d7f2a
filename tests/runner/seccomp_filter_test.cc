// Compiled seccomp filters, loaded in a forked child: what the kernel then
// answers to the calls Docker's profile forbids, and how argument
// conditions combine.
#include "runner/seccomp_filter.h"

#include <linux/sched.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>

#include "runner/capabilities.h"

namespace bld::runner {
namespace {

// The errno `call` fails with in a child under `program` (0: it succeeded).
int ErrnoUnder(const SeccompProgram& program, const std::function<long()>& call) {
  pid_t pid = ::fork();
  if (pid == 0) {
    try {
      LoadSeccompFilter(program);
    } catch (...) {
      ::_exit(255);
    }
    errno = 0;
    long rc = call();
    ::_exit(rc < 0 ? errno : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

SeccompProgram DefaultFilter(uint64_t capabilities) {
  return CompileSeccompFilter(PlanSeccompFilter(DefaultSeccompProfile(), capabilities, CurrentSeccompHost()));
}

SeccompProgram Compile(const std::string& json) {
  return CompileSeccompFilter(PlanSeccompFilter(ParseSeccompProfile(json, "test"), 0, CurrentSeccompHost()));
}

constexpr int kVsock = 40;  // AF_VSOCK, which Docker's profile refuses

TEST_CASE("under Docker's default filter user namespaces, keyrings and bpf fail with EPERM") {
  SeccompProgram filter = DefaultFilter(kDefaultCapabilities);
  CHECK(ErrnoUnder(filter, [] { return ::unshare(CLONE_NEWUSER); }) == EPERM);
  CHECK(ErrnoUnder(filter, [] { return ::syscall(SYS_keyctl, 0, 0, 0); }) == EPERM);
  CHECK(ErrnoUnder(filter, [] { return ::syscall(SYS_bpf, 0, nullptr, 0); }) == EPERM);
  CHECK(ErrnoUnder(filter, [] { return ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); }) == EPERM);
}

TEST_CASE("under Docker's default filter clone3 fails with ENOSYS, so that libc falls back to clone") {
  CHECK(ErrnoUnder(DefaultFilter(kDefaultCapabilities), [] { return ::syscall(SYS_clone3, nullptr, 0); }) == ENOSYS);
}

TEST_CASE("Docker's default filter lets ordinary calls and allowed argument values through") {
  SeccompProgram filter = DefaultFilter(kDefaultCapabilities);
  CHECK(ErrnoUnder(filter, [] { return ::getpid(); }) == 0);
  CHECK(ErrnoUnder(filter, [] { return ::personality(0xffffffff); }) == 0);
  CHECK(ErrnoUnder(filter, [] { return ::personality(ADDR_NO_RANDOMIZE); }) == EPERM);
  CHECK(ErrnoUnder(filter, [] { return ::socket(AF_UNIX, SOCK_STREAM, 0); }) == 0);
  CHECK(ErrnoUnder(filter, [] { return ::socket(kVsock, SOCK_STREAM, 0); }) == EPERM);
}

TEST_CASE("with CAP_SYS_ADMIN Docker's default filter lets namespaces be made") {
  SeccompProgram filter = DefaultFilter(kDefaultCapabilities | CapabilityBit(CAP_SYS_ADMIN));
  CHECK(ErrnoUnder(filter, [] { return ::unshare(CLONE_NEWUTS); }) == 0);
}

TEST_CASE("two conditions on one argument make two rules, either of which matches") {
  SeccompProgram filter = Compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
        {"index": 0, "value": 4194304, "op": "SCMP_CMP_EQ"},
        {"index": 0, "value": 262144, "op": "SCMP_CMP_EQ"}]}]})");
  CHECK(ErrnoUnder(filter, [] { return ::personality(READ_IMPLIES_EXEC); }) == EACCES);
  CHECK(ErrnoUnder(filter, [] { return ::personality(ADDR_NO_RANDOMIZE); }) == EACCES);
  CHECK(ErrnoUnder(filter, [] { return ::personality(0xffffffff); }) == 0);
}

TEST_CASE("conditions on different arguments must all hold") {
  SeccompProgram filter = Compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
        {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
        {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]})");
  CHECK(ErrnoUnder(filter, [] { return ::socket(AF_UNIX, SOCK_DGRAM, 0); }) == EACCES);
  CHECK(ErrnoUnder(filter, [] { return ::socket(AF_UNIX, SOCK_STREAM, 0); }) == 0);
}

TEST_CASE("a masked comparison tests only the bits of its mask") {
  SeccompProgram filter = Compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
        {"index": 0, "value": 268435456, "valueTwo": 268435456, "op": "SCMP_CMP_MASKED_EQ"}]}]})");
  CHECK(ErrnoUnder(filter, [] { return ::unshare(CLONE_NEWUSER | CLONE_NEWUTS); }) == EACCES);
  CHECK(ErrnoUnder(filter, [] { return ::unshare(CLONE_NEWUTS); }) == 0);
}

TEST_CASE("syscall names the seccomp library does not know are left out") {
  SeccompProgram filter = Compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["no_such_syscall_anywhere", "getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]})");
  CHECK(ErrnoUnder(filter, [] { return ::syscall(SYS_getppid); }) == EACCES);
}

}  // namespace
}  // namespace bld::runner
