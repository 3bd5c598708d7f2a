// What RUN steps may do in `bld build`: Docker's sandbox by default,
// `--security-opt` for every RUN, and RUN --security=insecure only under
// `--allow security.insecure` (BuildKit's entitlement).
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/container_fixture.h"

using bld::testing::ContainerFixture;
using bld::testing::ProcessResult;
using bld::testing::WriteFile;

namespace {

// Builds `dockerfile` with `flags` as `built`.
ProcessResult Build(ContainerFixture& f, const std::string& dockerfile, std::vector<std::string> flags = {}) {
  std::filesystem::create_directories(f.dir() / "ctx");
  WriteFile(f.dir() / "ctx/Dockerfile", dockerfile);
  std::vector<std::string> args = {"build", "-t", "built"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(f.dir() / "ctx");
  return f.Bld(args);
}

// A RUN that records the sandbox it ran in, appended to /status.
constexpr const char* kRecordStatus = "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status >> /status";

}  // namespace

TEST_CASE("a RUN step runs in Docker's sandbox: its capabilities and seccomp filter, no_new_privs off",
          "[e2e][build][security]") {
  ContainerFixture f;
  REQUIRE(Build(f, std::string("FROM busybox\nRUN ") + kRecordStatus + "\n").exit_code == 0);
  CHECK(f.BldOk({"run", "--rm", "built", "cat", "/status"}) ==
        "CapEff:\t00000000a80425fb\nNoNewPrivs:\t0\nSeccomp:\t2");
}

TEST_CASE("RUN --security=insecure without --allow security.insecure fails before any step runs",
          "[e2e][build][security]") {
  ContainerFixture f;
  ProcessResult r = Build(f, "FROM busybox\nRUN touch /first\nRUN --security=insecure true\n");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("Dockerfile:3: RUN --security=insecure needs the security.insecure entitlement: run bld "
                   "build --allow security.insecure") != std::string::npos);
  CHECK(f.Bld({"inspect", "built"}).exit_code != 0);
  // Had the first RUN run, its result would be in the cache now.
  r = Build(f, "FROM busybox\nRUN touch /first\n", {"--progress", "plain"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("CACHED") == std::string::npos);
}

TEST_CASE("with --allow security.insecure only RUN --security=insecure runs privileged", "[e2e][build][security]") {
  ContainerFixture f;
  std::string dockerfile = std::string("FROM busybox\nRUN --security=insecure ") + kRecordStatus + "\nRUN " +
                           kRecordStatus + "\nRUN --security=sandbox " + kRecordStatus + "\n";
  REQUIRE(Build(f, dockerfile, {"--allow", "security.insecure"}).exit_code == 0);
  std::string status = f.BldOk({"run", "--rm", "built", "cat", "/status"});
  std::string sandbox = "CapEff:\t00000000a80425fb\nNoNewPrivs:\t0\nSeccomp:\t2";
  CHECK(status.ends_with("NoNewPrivs:\t0\nSeccomp:\t0\n" + sandbox + "\n" + sandbox));
  CHECK(status.find("CapEff:\t00000000a80425fb") != 0);
}

TEST_CASE("build --security-opt applies to every RUN, and a bad one is refused", "[e2e][build][security]") {
  ContainerFixture f;
  REQUIRE(Build(f, std::string("FROM busybox\nRUN ") + kRecordStatus + "\n",
                {"--security-opt", "no-new-privileges", "--security-opt", "seccomp=unconfined"})
              .exit_code == 0);
  CHECK(f.BldOk({"run", "--rm", "built", "cat", "/status"}) ==
        "CapEff:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t0");
  ProcessResult r = Build(f, "FROM busybox\nRUN true\n", {"--security-opt", "label=disable"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("invalid --security-opt: \"label=disable\"") != std::string::npos);
  r = Build(f, "FROM busybox\nRUN true\n", {"--allow", "device"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("--allow device: use security.insecure or network.host") != std::string::npos);
}
