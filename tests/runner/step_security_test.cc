// What a RUN step's command may do: Docker's sandbox by default (seccomp
// filter, capabilities, device cgroup), and what its security options
// change (privileged, no-new-privileges, read-only root, tmpfs, ulimits,
// supplementary groups).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>

#include "runner/capabilities.h"
#include "runner/container_security.h"
#include "runner/device_cgroup.h"
#include "runner_test_support.h"

namespace bld::testing {
namespace {

using runner::ContainerSecurity;
using runner::RunConfig;

std::string Hex(uint64_t bits) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
  return text;
}

TEST_CASE("a RUN step runs under Docker's seccomp filter: no user namespace for root") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; unshare -U true; echo $?");
  CHECK(run.output == "NoNewPrivs:\t0\nSeccomp:\t2\nunshare: unshare(0x10000000): Operation not permitted\n1\n");
}

TEST_CASE("a privileged step has every capability bld holds and no seccomp filter") {
  RunnerFixture fixture;
  ContainerSecurity security;
  security.privileged = true;
  RunnerFixture::Run run = fixture.Sh("grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status", {}, {}, security);
  std::string all = Hex(runner::AllCapabilities());
  CHECK(run.output == "CapEff:\t" + all + "\nCapBnd:\t" + all + "\nSeccomp:\t0\n");
}

TEST_CASE("no-new-privileges is set for the step's command, with the filter loaded after it") {
  RunnerFixture fixture;
  ContainerSecurity security;
  security.no_new_privileges = true;
  RunnerFixture::Run run = fixture.Sh("grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status", {}, {}, security);
  CHECK(run.output == "NoNewPrivs:\t1\nSeccomp:\t2\n");
}

TEST_CASE("a step may make any device node but open only Docker's devices") {
  // The v1 device controller enforces the rules on hosts like these.
  REQUIRE(runner::HasDeviceController());
  RunnerFixture fixture;
  // 1:11 is /dev/kmsg, which opens for writing without any capability.
  RunnerFixture::Run run =
      fixture.Sh("mknod /tmp/kmsg c 1 11 && echo made; (: > /tmp/kmsg) 2>&1; : > /dev/null && echo null-ok");
  CHECK(run.output == "made\n/bin/sh: can't create /tmp/kmsg: Operation not permitted\nnull-ok\n");
}

TEST_CASE("a step's device cgroup is gone once the step has ended") {
  REQUIRE(runner::HasDeviceController());
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("grep ':devices:' /proc/self/cgroup | cut -d: -f3");
  std::string cgroup = "/sys/fs/cgroup/devices" + Lines(run.output).at(0);
  CHECK(cgroup.find("/bld/") != std::string::npos);
  struct stat st;
  CHECK(::stat(cgroup.c_str(), &st) != 0);
}

TEST_CASE("prune removes the device cgroup that a killed runner left with its container directory") {
  REQUIRE(runner::HasDeviceController());
  RunnerFixture fixture;
  // A name of this test's own: the device hierarchy is the host's.
  std::string id = "dead" + std::to_string(::getpid());
  std::filesystem::create_directories(fixture.store().containers_dir() + "/" + id + "/upper");
  std::string cgroup = runner::CreateDeviceCgroup(id, runner::DefaultDeviceRules());
  REQUIRE(std::filesystem::exists(cgroup));
  runner::RemoveAbandonedRunnerDirs(fixture.store());
  CHECK_FALSE(std::filesystem::exists(cgroup));
}

TEST_CASE("a read-only root keeps /dev/shm, tmpfs mounts and the working directory usable") {
  RunnerFixture fixture;
  ContainerSecurity security;
  security.read_only_rootfs = true;
  security.tmpfs = {runner::ParseTmpfs("/scratch:size=1m")};
  RunConfig config;
  config.workdir = "/made/here";
  RunnerFixture::Run run = fixture.Sh(
      "pwd; (touch /file) 2>&1; touch /dev/shm/a /scratch/b && echo writable; grep ' /scratch ' /proc/mounts", config,
      {}, security);
  CHECK(run.output ==
        "/made/here\ntouch: /file: Read-only file system\nwritable\n"
        "tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k 0 0\n");
}

TEST_CASE("ulimits reach the step's command") {
  RunnerFixture fixture;
  ContainerSecurity security;
  security.ulimits = {runner::ParseUlimit("nofile=123:456")};
  RunnerFixture::Run run = fixture.Sh("ulimit -n; ulimit -Hn", {}, {}, security);
  CHECK(run.output == "123\n456\n");
}

TEST_CASE("added groups join the user's own supplementary groups") {
  RunnerFixture fixture;
  RunConfig config;
  config.user = "app";
  config.group_add = {"nogroup", "4242"};
  RunnerFixture::Run run = fixture.Sh("id -G", config);
  // id -G lists the groups in the kernel's order, sorted.
  CHECK(run.output == "1000 1001 4242 65534\n");
}

}  // namespace
}  // namespace bld::testing
