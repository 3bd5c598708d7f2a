// The runner's system-call helpers that need no container.
#include "runner/system_call.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;

mode_t CurrentUmask() {
  mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

mode_t ModeOf(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

TEST_CASE("MakeDirectories creates each missing directory with the mode and keeps those that exist") {
  TempDir root;
  fs::create_directories(root / "a");
  ::chmod((root / "a").c_str(), 0700);
  runner::MakeDirectories(root / "a/b/c", 0750, "create test directory");
  CHECK(ModeOf(root / "a") == 0700);
  CHECK(ModeOf(root / "a/b") == (0750 & ~CurrentUmask()));
  CHECK(ModeOf(root / "a/b/c") == (0750 & ~CurrentUmask()));
}

TEST_CASE("MakeDirectories names the directory it cannot create") {
  TempDir root;
  WriteFile(root / "file", "not a directory");
  CHECK_THROWS_WITH(runner::MakeDirectories(root / "file/sub", 0755, "create mount point"),
                    "runner: create mount point " + (root / "file/sub") + ": Not a directory");
}

}  // namespace
}  // namespace bld::testing
