#include "runner/snapshotter.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "runner/locked_dir.h"
#include "runner_test_support.h"
#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;
using runner::LayerRef;
using runner::Snapshotter;
using store::Digest;

const Digest kA = Digest::FromHex("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");  // "a"
const Digest kB = Digest::FromHex("3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d");  // "b"

std::vector<std::string> TmpEntries(const std::string& snapshots) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(snapshots))
    if (entry.path().filename().string().starts_with("tmp-")) names.push_back(entry.path().filename());
  return names;
}

TEST_CASE("chain IDs follow the OCI recipe") {
  // printf 'sha256:<a> sha256:<b>' | sha256sum
  CHECK(Snapshotter::ChainIds({kA, kB}) ==
        std::vector<Digest>{kA, Digest::FromHex("51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676")});
  CHECK(Snapshotter::ChainIds({}).empty());
}

TEST_CASE("Prepare unpacks each layer once into snapshots/<chain ID> and records it") {
  RunnerFixture fixture;
  TempDir upper;
  WriteFile(upper / "added", "x");
  LayerRef top = ImportDirectoryLayer(fixture.store(), upper.path());
  Snapshotter snapshotter(fixture.store());

  std::vector<std::string> lowerdirs = snapshotter.Prepare({fixture.base(), top});
  std::vector<Digest> chain = Snapshotter::ChainIds({fixture.base().diff_id, top.diff_id});
  REQUIRE(lowerdirs == std::vector<std::string>{snapshotter.Path(chain[1]), snapshotter.Path(chain[0])});
  CHECK(fs::exists(lowerdirs[0] + "/added"));
  CHECK(fs::exists(lowerdirs[1] + "/bin/busybox"));

  std::optional<std::string> record = fixture.store().meta().Read(
      [&](store::ReadTxn& txn) { return txn.Get(store::Table::kSnapshots, chain[1].str()); });
  REQUIRE(record);
  CHECK(*record == "{\"diff_id\":\"" + top.diff_id.str() + "\",\"parent\":\"" + chain[0].str() + "\"}");

  struct stat before, after;
  REQUIRE(::stat(lowerdirs[1].c_str(), &before) == 0);
  snapshotter.Prepare({fixture.base(), top});
  REQUIRE(::stat(lowerdirs[1].c_str(), &after) == 0);
  CHECK(before.st_ino == after.st_ino);
  CHECK(TmpEntries(fixture.store().snapshots_dir()).empty());
}

TEST_CASE("a snapshot holds whiteouts as overlayfs reads them") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("rm /etc/group");
  REQUIRE(run.result.layer);
  LayerRef layer{run.result.layer->diff_id, run.result.layer->digest};
  std::vector<std::string> lowerdirs = Snapshotter(fixture.store()).Prepare({fixture.base(), layer});
  struct stat st;
  REQUIRE(::lstat((lowerdirs[0] + "/etc/group").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == makedev(0, 0));
}

TEST_CASE("a blob that does not hold the expected layer is refused and leaves nothing") {
  RunnerFixture fixture;
  LayerRef wrong{kA, fixture.base().blob};
  Snapshotter snapshotter(fixture.store());
  CHECK_THROWS_WITH(snapshotter.Prepare({wrong}), Catch::Contains("holds the layer " + fixture.base().diff_id.str()));
  CHECK_FALSE(fs::exists(snapshotter.Path(kA)));
  CHECK(TmpEntries(fixture.store().snapshots_dir()).empty());
}

TEST_CASE("a missing blob is named in the error") {
  RunnerFixture fixture;
  CHECK_THROWS_WITH(Snapshotter(fixture.store()).Prepare({{kA, kB}}),
                    Catch::Contains("its blob " + kB.str() + " is not in the store"));
}

TEST_CASE("two processes preparing the same snapshot at once both succeed with one snapshot") {
  RunnerFixture fixture;
  fixture.CloseStore();
  int go[2];
  REQUIRE(::pipe(go) == 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      // Both start unpacking when the parent closes the pipe.
      [[maybe_unused]] ssize_t n = ::read(go[0], &c, 1);
      try {
        std::unique_ptr<store::Store> store = store::Store::Open(fixture.root());
        Snapshotter(*store).Prepare({fixture.base()});
      } catch (const std::exception& e) {
        std::fprintf(stderr, "prepare failed: %s\n", e.what());
        ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  fixture.ReopenStore();
  std::vector<std::string> entries;
  for (const fs::directory_entry& entry : fs::directory_iterator(fixture.store().snapshots_dir()))
    entries.push_back(entry.path().filename());
  CHECK(entries == std::vector<std::string>{std::string(fixture.base().diff_id.hex())});
  CHECK(fs::exists(fixture.store().snapshots_dir() + "/" + std::string(fixture.base().diff_id.hex()) + "/bin/busybox"));
  CHECK(fixture.store().meta().Read([&](store::ReadTxn& txn) {
    return txn.Get(store::Table::kSnapshots, fixture.base().diff_id.str()).has_value();
  }));
}

TEST_CASE("a snapshot renamed into place but not recorded is recorded by the next Prepare") {
  RunnerFixture fixture;
  Snapshotter snapshotter(fixture.store());
  snapshotter.Prepare({fixture.base()});
  fixture.store().meta().Write(
      [&](store::WriteTxn& txn) { txn.Del(store::Table::kSnapshots, fixture.base().diff_id.str()); });
  snapshotter.Prepare({fixture.base()});
  CHECK(fixture.store().meta().Read([&](store::ReadTxn& txn) {
    return txn.Get(store::Table::kSnapshots, fixture.base().diff_id.str()).has_value();
  }));
}

TEST_CASE("abandoned unpacks are removed, live ones are kept") {
  RunnerFixture fixture;
  std::string snapshots = fixture.store().snapshots_dir();
  fs::create_directories(snapshots + "/tmp-dead/usr/bin");
  runner::LockedDir live = runner::LockedDir::Create(snapshots, "tmp-", 8);
  Snapshotter snapshotter(fixture.store());
  snapshotter.Prepare({fixture.base()});

  CHECK(snapshotter.RemoveAbandonedUnpacks() == std::vector<std::string>{snapshots + "/tmp-dead"});
  CHECK(fs::exists(live.path()));
  CHECK(fs::exists(snapshotter.Path(fixture.base().diff_id)));
}

}  // namespace
}  // namespace bld::testing
