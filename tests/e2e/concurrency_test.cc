// Several bld processes on one store at once: each succeeds, and the store
// they leave is consistent (docs/design.md: "two bld processes may use one store
// at the same time").
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/busybox.h"
#include "support/process.h"

using bld::testing::ProcessResult;
using bld::testing::RunBld;
using bld::testing::TempDir;

namespace {

// Rounds of import-then-tag per process: enough for their LMDB writes and
// blob commits to interleave.
constexpr int kRounds = 5;

// Runs `rounds` of import + tag as `name`, one bld process after the other;
// returns the failures.
std::vector<std::string> ImportAndTag(const std::string& root, const std::string& tarball, const std::string& name) {
  std::vector<std::string> failures;
  for (int i = 0; i < kRounds; ++i) {
    std::string tag = name + ":" + std::to_string(i);
    ProcessResult r = RunBld({"--root", root, "import", tarball, tag});
    if (r.exit_code != 0) failures.push_back("import " + tag + ": " + r.err);
    r = RunBld({"--root", root, "tag", tag, name + "-alias:" + std::to_string(i)});
    if (r.exit_code != 0) failures.push_back("tag " + tag + ": " + r.err);
  }
  return failures;
}

}  // namespace

TEST_CASE("two bld processes importing and tagging at the same time both succeed") {
  TempDir dir;
  std::string root = dir / "store";
  std::string tarball = dir / "rootfs.tar";
  bld::testing::MakeBusyboxTar(tarball);
  std::vector<std::string> failures_a, failures_b;
  std::thread a([&] { failures_a = ImportAndTag(root, tarball, "first"); });
  std::thread b([&] { failures_b = ImportAndTag(root, tarball, "second"); });
  a.join();
  b.join();
  CHECK(failures_a == std::vector<std::string>{});
  CHECK(failures_b == std::vector<std::string>{});
  std::vector<std::string> inspect = {"--root", root, "inspect"};
  for (const char* name : {"first", "second", "first-alias", "second-alias"})
    for (int i = 0; i < kRounds; ++i) inspect.push_back(std::string(name) + ":" + std::to_string(i));
  ProcessResult found = RunBld(inspect);
  INFO(found.err);
  CHECK(found.exit_code == 0);
  ProcessResult check = RunBld({"--root", root, "check"});
  INFO(check.out);
  CHECK(check.exit_code == 0);
}

TEST_CASE("a prune running beside imports never removes what they name") {
  TempDir dir;
  std::string root = dir / "store";
  std::string tarball = dir / "rootfs.tar";
  bld::testing::MakeBusyboxTar(tarball);
  std::vector<std::string> failures;
  std::thread importer([&] { failures = ImportAndTag(root, tarball, "app"); });
  std::vector<std::string> prune_failures;
  for (int i = 0; i < kRounds; ++i) {
    ProcessResult r = RunBld({"--root", root, "prune"});
    if (r.exit_code != 0) prune_failures.push_back(r.err);
  }
  importer.join();
  CHECK(failures == std::vector<std::string>{});
  CHECK(prune_failures == std::vector<std::string>{});
  ProcessResult check = RunBld({"--root", root, "check"});
  INFO(check.out);
  CHECK(check.exit_code == 0);
  // Every image named is complete: saving reads each of its blobs.
  for (int i = 0; i < kRounds; ++i) {
    ProcessResult save = RunBld({"--root", root, "save", "-o", dir / "out.tar", "app:" + std::to_string(i)});
    INFO(save.err);
    CHECK(save.exit_code == 0);
  }
}
