#include "runner/locked_dir.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "runner/step_runner.h"
#include "runner_test_support.h"
#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;
using runner::LockedDir;

TEST_CASE("a locked directory is removed with its content when its owner is done") {
  TempDir parent;
  std::string path;
  {
    LockedDir dir = LockedDir::Create(parent.path(), "x-", 4);
    path = dir.path();
    CHECK(dir.name().starts_with("x-"));
    CHECK(dir.name().size() == 2 + 8);
    WriteFile(path + "/a/b", "content");
  }
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("only directories no live process holds count as abandoned") {
  TempDir parent;
  fs::create_directories(parent / "x-dead/sub");
  fs::create_directories(parent / "other");
  LockedDir live = LockedDir::Create(parent.path(), "x-", 4);
  CHECK(runner::RemoveAbandonedDirs(parent.path(), "x-") == std::vector<std::string>{parent / "x-dead"});
  CHECK(fs::exists(live.path()));
  CHECK(fs::exists(parent / "other"));
}

TEST_CASE("a rename to a taken name fails and leaves the directory to its owner") {
  TempDir parent;
  fs::create_directories(parent / "taken");
  LockedDir dir = LockedDir::Create(parent.path(), "x-", 4);
  CHECK_FALSE(dir.RenameNoReplace("taken"));
  CHECK(fs::exists(dir.path()));
  CHECK(dir.RenameNoReplace("free"));
  CHECK(dir.path() == parent / "free");
}

TEST_CASE("a renamed directory stays when its former owner is done") {
  TempDir parent;
  {
    LockedDir dir = LockedDir::Create(parent.path(), "x-", 4);
    REQUIRE(dir.RenameNoReplace("kept"));
  }
  CHECK(fs::exists(parent / "kept"));
}

TEST_CASE("prune removes container directories of dead runners and keeps live ones") {
  RunnerFixture fixture;
  std::string containers = fixture.store().containers_dir();
  fs::create_directories(containers + "/deadbeef/upper/etc");
  LockedDir live = LockedDir::Create(containers, "", 32);
  CHECK(runner::RemoveAbandonedRunnerDirs(fixture.store()) == std::vector<std::string>{containers + "/deadbeef"});
  CHECK(fs::exists(live.path()));
}

}  // namespace
}  // namespace bld::testing
