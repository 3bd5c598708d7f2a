// Prune and check at the store level: what prune keeps and removes, the lock
// that keeps it from racing writers, and what check reports.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "store/garbage_collector.h"
#include "store/image.h"
#include "store/store_check.h"
#include "support/process.h"
#include "support/test_images.h"

namespace fs = std::filesystem;
using bld::store::CheckReport;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::GcLock;
using bld::store::Image;
using bld::store::PruneReport;
using bld::store::Sha256;
using bld::store::Store;
using bld::store::Table;
using bld::testing::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  std::unique_ptr<Store> store = Store::Open(dir / "store");
};

PruneReport Prune(Store& store, const std::set<Digest>& snapshots = {}) {
  GcLock lock(store, GcLock::Mode::kExclusive);
  return bld::store::Prune(store, lock, snapshots);
}

Digest PutBlob(Store& store, const std::string& content) { return store.blobs().Put(content).digest; }

// A snapshot as the runner leaves it: a directory named by the chain ID
// hex, with a record.
void MakeSnapshot(Store& store, const Digest& chain_id) {
  std::string dir = store.snapshots_dir() + "/" + std::string(chain_id.hex());
  bld::testing::WriteFile(dir + "/etc/file", "snapshot content");
  store.meta().Write([&](bld::store::WriteTxn& t) {
    t.Put(Table::kSnapshots, chain_id.str(), R"({"diff_id":")" + chain_id.str() + "\"}");
  });
}

bool HasRecord(const Store& store, Table table, const std::string& key) {
  return store.meta().Read([&](const bld::store::ReadTxn& t) { return t.Get(table, key).has_value(); });
}

std::vector<std::string> Problems(const Store& store) { return bld::store::CheckStore(store).problems; }

}  // namespace

// ---------------------------------------------------------------------------
// prune

TEST_CASE("prune keeps every blob an image reaches and removes the others with their records") {
  Fixture f;
  Descriptor manifest = bld::testing::MakeBusyboxImage(*f.store, "busybox");
  std::vector<Descriptor> closure = f.store->Closure(manifest);
  Digest orphan = PutBlob(*f.store, "nobody needs this");
  Digest diff_id = Sha256::Of("its layer");
  f.store->RecordBlob({"application/vnd.oci.image.layer.v1.tar+gzip", orphan, 17, {}, {}, {}});
  f.store->RecordDiffId(diff_id, orphan);
  std::string hint = "source/" + orphan.str() + "/registry.example/library/x";
  f.store->meta().Write([&](bld::store::WriteTxn& t) { t.Put(Table::kBlobs, hint, ""); });

  PruneReport report = Prune(*f.store);
  REQUIRE(report.blobs.size() == 1);
  CHECK(report.blobs[0].digest == orphan);
  CHECK(report.blobs[0].size == 17);
  CHECK(report.reclaimed_bytes() == 17);
  CHECK_FALSE(f.store->blobs().Exists(orphan));
  CHECK_FALSE(f.store->BlobRecord(orphan));
  CHECK_FALSE(f.store->DiffIdOf(orphan));
  CHECK(f.store->BlobsWithDiffId(diff_id).empty());
  CHECK_FALSE(HasRecord(*f.store, Table::kBlobs, hint));
  CHECK(report.records == 4);
  for (const Descriptor& d : closure) CHECK(f.store->blobs().Exists(d.digest));
  CHECK(Problems(*f.store).empty());
}

TEST_CASE("prune removes the blobs of an image whose last name was removed") {
  Fixture f;
  Descriptor manifest = bld::testing::MakeBusyboxImage(*f.store, "busybox");
  size_t blobs = f.store->Closure(manifest).size();
  f.store->DeleteRef("docker.io/library/busybox:latest");
  CHECK(Prune(*f.store).blobs.size() == blobs);
  CHECK(f.store->blobs().List().empty());
  CHECK(Problems(*f.store).empty());
}

TEST_CASE("prune keeps the layers build cache records name") {
  Fixture f;
  Digest cached = PutBlob(*f.store, "a cached layer");
  Digest unreadable = PutBlob(*f.store, "named by a record nobody can read");
  nlohmann::json record = {{"config", nlohmann::json::object()},
                           {"layers", {{{"mediaType", "x"}, {"digest", cached.str()}, {"size", 14}}}}};
  f.store->meta().Write([&](bld::store::WriteTxn& t) {
    t.Put(Table::kCache, "k:" + std::string(64, 'a'), record.dump());
    t.Put(Table::kCache, "k:" + std::string(64, 'b'), "{not json " + unreadable.str());
    t.Put(Table::kCache, "e:explain", R"({"layers":[{"digest":")" + unreadable.str() + "\"}]}");
  });
  Prune(*f.store);
  CHECK(f.store->blobs().Exists(cached));
  CHECK_FALSE(f.store->blobs().Exists(unreadable));
}

TEST_CASE("prune removes ingest files of dead writers and never a live writer's") {
  Fixture f;
  bld::store::BlobWriter live = f.store->blobs().NewWriter();
  live.Write("in progress");
  bld::testing::WriteFile(f.store->root() + "/ingest/dead-writer", "half a blob");
  PruneReport report = Prune(*f.store);
  REQUIRE(report.ingest_leftovers.size() == 1);
  CHECK(report.ingest_leftovers[0].path == f.store->root() + "/ingest/dead-writer");
  CHECK(report.reclaimed_bytes() == 11);
  Digest d = live.Commit().digest;
  CHECK(f.store->blobs().Exists(d));
}

TEST_CASE("prune removes snapshots not in use with their records, and keeps those in use") {
  Fixture f;
  Digest used = Sha256::Of("used");
  Digest unused = Sha256::Of("unused");
  MakeSnapshot(*f.store, used);
  MakeSnapshot(*f.store, unused);
  // A record whose directory is gone, and a retired directory a prune that
  // died left behind.
  Digest recorded_only = Sha256::Of("recorded only");
  f.store->meta().Write([&](bld::store::WriteTxn& t) { t.Put(Table::kSnapshots, recorded_only.str(), "{}"); });
  PruneReport report = Prune(*f.store, {used});
  CHECK(report.snapshots == std::vector<Digest>{unused});
  CHECK(report.snapshot_bytes == 16);
  CHECK(fs::exists(f.store->snapshots_dir() + "/" + std::string(used.hex()) + "/etc/file"));
  CHECK_FALSE(fs::exists(f.store->snapshots_dir() + "/" + std::string(unused.hex())));
  CHECK_FALSE(fs::exists(f.store->snapshots_dir() + "/tmp-" + std::string(unused.hex())));
  CHECK(HasRecord(*f.store, Table::kSnapshots, used.str()));
  CHECK_FALSE(HasRecord(*f.store, Table::kSnapshots, unused.str()));
  CHECK_FALSE(HasRecord(*f.store, Table::kSnapshots, recorded_only.str()));
  CHECK(Problems(*f.store).empty());
}

TEST_CASE("prune finishes a snapshot removal that a killed prune left under the retired name") {
  Fixture f;
  Digest unused = Sha256::Of("unused");
  MakeSnapshot(*f.store, unused);
  bld::testing::WriteFile(f.store->snapshots_dir() + "/tmp-" + std::string(unused.hex()) + "/half", "x");
  Prune(*f.store);
  CHECK_FALSE(fs::exists(f.store->snapshots_dir() + "/tmp-" + std::string(unused.hex())));
  CHECK_FALSE(fs::exists(f.store->snapshots_dir() + "/" + std::string(unused.hex())));
}

TEST_CASE("prune refuses to run without the exclusive lock") {
  Fixture f;
  GcLock shared(*f.store, GcLock::Mode::kShared);
  REQUIRE_THROWS_WITH(bld::store::Prune(*f.store, shared, {}), Catch::Contains("held exclusively"));
}

TEST_CASE("prune removes nothing when an image's manifest is missing") {
  Fixture f;
  Descriptor manifest = bld::testing::MakeBusyboxImage(*f.store, "busybox");
  Digest orphan = PutBlob(*f.store, "orphan");
  ::chmod(f.store->blobs().Path(manifest.digest).c_str(), 0644);
  f.store->blobs().Remove(manifest.digest);
  REQUIRE_THROWS_WITH(Prune(*f.store),
                      Catch::Contains("cannot tell which blobs the image docker.io/library/busybox:latest needs"));
  CHECK(f.store->blobs().Exists(orphan));
}

TEST_CASE("an exclusive lock waits for shared holders, and shared holders do not wait for each other") {
  Fixture f;
  auto first = std::make_unique<GcLock>(*f.store, GcLock::Mode::kShared);
  bool waited_shared = false;
  GcLock second(*f.store, GcLock::Mode::kShared, [&] { waited_shared = true; });
  CHECK_FALSE(waited_shared);

  std::atomic<bool> waiting{false}, acquired{false};
  std::thread pruner([&] {
    GcLock exclusive(*f.store, GcLock::Mode::kExclusive, [&] { waiting = true; });
    acquired = true;
  });
  while (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(acquired);
  first.reset();
  { GcLock released = std::move(second); }
  pruner.join();
  CHECK(acquired);
}

// ---------------------------------------------------------------------------
// check

TEST_CASE("check finds a store with images, cache and snapshots consistent") {
  Fixture f;
  bld::testing::MakeBusyboxImage(*f.store, "busybox");
  MakeSnapshot(*f.store, Sha256::Of("s"));
  bld::testing::WriteFile(f.store->root() + "/ingest/dead-writer", "half a blob");
  PutBlob(*f.store, "unreferenced blobs are not problems");
  CheckReport report = bld::store::CheckStore(*f.store);
  CHECK(report.problems.empty());
  CHECK(report.blobs == 4);
  CHECK(report.refs == 1);
  CHECK(report.ingest_leftovers.size() == 1);
}

TEST_CASE("check reports a blob whose content no longer matches its digest") {
  Fixture f;
  Digest d = PutBlob(*f.store, "original");
  std::string path = f.store->blobs().Path(d);
  ::chmod(path.c_str(), 0644);
  bld::testing::WriteFile(path, "tampered");
  REQUIRE(Problems(*f.store) ==
          std::vector<std::string>{"blob " + d.str() +
                                   ": its content does not match its digest (corrupted or modified on disk)"});
}

TEST_CASE("check reports a ref whose layer is missing, and the records of the missing blob") {
  Fixture f;
  Descriptor manifest = bld::testing::MakeBusyboxImage(*f.store, "busybox");
  Image image = bld::store::ReadImage(*f.store, manifest);
  Digest layer = image.manifest.layers[0].digest;
  f.store->blobs().Remove(layer);
  std::vector<std::string> problems = Problems(*f.store);
  REQUIRE(problems.size() == 4);
  CHECK(problems[0] == "ref docker.io/library/busybox:latest: blob " + layer.str() + " (" +
                           image.manifest.layers[0].media_type + ") is not in the store");
  CHECK_THAT(problems[1], Catch::StartsWith("blob record " + layer.str()));
  CHECK_THAT(problems[2], Catch::StartsWith("diffID record "));
  CHECK_THAT(problems[3], Catch::StartsWith("blob diffID record " + layer.str()));
}

TEST_CASE("check reports a layer recorded with another diffID than its image lists") {
  Fixture f;
  Descriptor manifest = bld::testing::MakeBusyboxImage(*f.store, "busybox");
  Digest layer = bld::store::ReadImage(*f.store, manifest).manifest.layers[0].digest;
  Digest wrong = Sha256::Of("another layer");
  f.store->meta().Write([&](bld::store::WriteTxn& t) { t.Put(Table::kBlobDiffIds, layer.str(), wrong.str()); });
  std::vector<std::string> problems = Problems(*f.store);
  REQUIRE_FALSE(problems.empty());
  CHECK_THAT(problems[0], Catch::Contains("is recorded as the layer " + wrong.str()));
}

TEST_CASE("check reports a snapshot record without its directory") {
  Fixture f;
  Digest chain_id = Sha256::Of("gone");
  f.store->meta().Write([&](bld::store::WriteTxn& t) { t.Put(Table::kSnapshots, chain_id.str(), "{}"); });
  REQUIRE(Problems(*f.store).size() == 1);
  CHECK_THAT(Problems(*f.store)[0], Catch::EndsWith("/" + std::string(chain_id.hex()) + " is missing"));
}

TEST_CASE("check reports a ref whose record is not a descriptor") {
  Fixture f;
  f.store->meta().Write([&](bld::store::WriteTxn& t) { t.Put(Table::kRefs, "docker.io/library/x:latest", "{]"); });
  REQUIRE(Problems(*f.store).size() == 1);
  CHECK_THAT(Problems(*f.store)[0], Catch::StartsWith("ref docker.io/library/x:latest: "));
}
