// A privileged step (RUN --security=insecure): every capability bld holds,
// a writable sysfs and no masked or read-only kernel paths; a step that is
// not privileged keeps Docker's sandbox (step_runner_test.cc).
#include <catch2/catch.hpp>

#include "runner_test_support.h"
#include "support/process.h"

namespace bld::testing {
namespace {

runner::ContainerSecurity Privileged() {
  runner::ContainerSecurity security;
  security.privileged = true;
  return security;
}

// This process's line `name:\t...` of /proc/self/status.
std::string OwnStatusLine(const std::string& name) {
  for (const std::string& line : Lines(ReadFile("/proc/self/status")))
    if (line.starts_with(name + ":")) return line;
  FAIL("no " << name << " in /proc/self/status");
  return "";
}

}  // namespace

TEST_CASE("a privileged step has every capability bld holds") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("grep -E '^Cap(Eff|Bnd)' /proc/self/status", {}, {}, Privileged());
  CHECK(run.output == OwnStatusLine("CapEff") + "\n" + OwnStatusLine("CapBnd") + "\n");
}

TEST_CASE("a privileged step can mount, and sees a writable sysfs and unmasked kernel paths") {
  RunnerFixture fixture;
  const std::string script =
      "mkdir /m && mount -t tmpfs none /m 2>/dev/null && echo mounted; "
      "grep -q '^sysfs /sys sysfs rw' /proc/mounts && echo sys-rw; "
      "echo masked: $(grep -o -E ' /proc/(sys|keys) ' /proc/mounts | sort)";
  CHECK(fixture.Sh(script, {}, {}, Privileged()).output == "mounted\nsys-rw\nmasked:\n");
  CHECK(fixture.Sh(script).output == "masked: /proc/keys /proc/sys\n");
}

}  // namespace bld::testing
