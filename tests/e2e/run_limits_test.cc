// --memory, --cpus and --pids-limit through the host's cgroups (v1 or v2).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/container_fixture.h"

using bld::testing::ContainerFixture;
using bld::testing::ProcessResult;
using bld::testing::ReadFile;

namespace {

bool UnifiedHierarchy() {
  return std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers") &&
         !ReadFile("/sys/fs/cgroup/cgroup.controllers").empty();
}

// The value of a limit file of container `id`, on either hierarchy.
std::string Limit(const std::string& id, const std::string& v1_controller, const std::string& v1_file,
                  const std::string& v2_file) {
  std::string path = UnifiedHierarchy() ? "/sys/fs/cgroup/bld/" + id + "/" + v2_file
                                        : "/sys/fs/cgroup/" + v1_controller + "/bld/" + id + "/" + v1_file;
  std::string value = ReadFile(path);
  while (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

}  // namespace

TEST_CASE("run --memory, --cpus and --pids-limit set the container's cgroup limits", "[e2e][run][limits]") {
  ContainerFixture f;
  std::string id =
      f.BldOk({"run", "-d", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "20", "busybox", "sleep", "3136"});
  CHECK(Limit(id, "memory", "memory.limit_in_bytes", "memory.max") == "67108864");
  CHECK(Limit(id, "pids", "pids.max", "pids.max") == "20");
  if (UnifiedHierarchy()) {
    CHECK(Limit(id, "cpu", "", "cpu.max") == "50000 100000");
  } else {
    CHECK(Limit(id, "cpu", "cpu.cfs_quota_us", "") == "50000");
    CHECK(Limit(id, "cpu", "cpu.cfs_period_us", "") == "100000");
  }
  CHECK(f.BldOk({"exec", id, "cat", "/proc/self/cgroup"}).find(id) != std::string::npos);
  f.BldOk({"rm", "-f", id});
  CHECK(!std::filesystem::exists("/sys/fs/cgroup/pids/bld/" + id));
  CHECK(!std::filesystem::exists("/sys/fs/cgroup/bld/" + id));
}

TEST_CASE("run --pids-limit stops a fork bomb at the limit", "[e2e][run][limits]") {
  ContainerFixture f;
  ProcessResult r = f.Bld(
      {"run", "--rm", "--pids-limit", "5", "busybox", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait"});
  CHECK(r.err.find("can't fork") != std::string::npos);
}

TEST_CASE("a bad --memory value is refused before anything starts", "[e2e][run][limits]") {
  ContainerFixture f;
  ProcessResult r = f.Bld({"run", "--rm", "--memory", "lots", "busybox", "true"});
  CHECK(r.exit_code == 125);
  CHECK(r.err.find("invalid size") != std::string::npos);
  CHECK(f.BldOk({"ps", "-a", "-q"}).empty());
}
