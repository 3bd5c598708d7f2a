// Prune and check at the store level: what prune keeps and removes, the lock
// that keeps it from racing writers, and what check reports.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "store/error.h"
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
using bld::store::GcParticipant;
using bld::store::GcRoots;
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

PruneReport Prune(Store& store, const std::vector<GcParticipant*>& participants = {}) {
  GcLock lock(store, GcLock::Mode::kExclusive);
  return bld::store::Prune(store, lock, participants);
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

// A user of the store as the builder and the runner are: it keeps what it
// is told to, and records when it is asked to sweep.
class FakeParticipant : public GcParticipant {
 public:
  std::set<Digest> blobs;
  std::vector<GcRoots::Image> images;
  bool fail = false;
  // What the store held when Sweep came.
  std::vector<Digest> blobs_at_sweep;
  int sweeps = 0;
  std::vector<std::string> leftovers;

  void AddRoots(const Store&, GcRoots& roots) const override {
    if (fail) throw bld::Error("the participant cannot read its records");
    roots.blobs.insert(blobs.begin(), blobs.end());
    roots.images.insert(roots.images.end(), images.begin(), images.end());
  }
  void Sweep(Store& store, const GcRoots&, PruneReport& report) override {
    ++sweeps;
    blobs_at_sweep = store.blobs().List();
    report.leftovers.insert(report.leftovers.end(), leftovers.begin(), leftovers.end());
  }
};

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
  CHECK_FALSE(HasRecord(*f.store, Table::kDiffIds, diff_id.str() + "/" + orphan.str()));
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

TEST_CASE("prune keeps the blobs a participant names and removes the others") {
  Fixture f;
  Digest kept = PutBlob(*f.store, "a participant needs this");
  Digest orphan = PutBlob(*f.store, "nobody needs this");
  FakeParticipant participant;
  participant.blobs = {kept};
  PruneReport report = Prune(*f.store, {&participant});
  CHECK(f.store->blobs().Exists(kept));
  CHECK_FALSE(f.store->blobs().Exists(orphan));
  REQUIRE(report.blobs.size() == 1);
  CHECK(report.blobs[0].digest == orphan);
}

TEST_CASE("prune keeps the whole closure of an image a participant names without a ref") {
  Fixture f;
  Descriptor manifest = bld::testing::MakeBusyboxImage(*f.store, "busybox");
  std::vector<Descriptor> closure = f.store->Closure(manifest);
  f.store->DeleteRef("docker.io/library/busybox:latest");
  FakeParticipant participant;
  participant.images = {{manifest, "a fake container"}};
  CHECK(Prune(*f.store, {&participant}).blobs.empty());
  for (const Descriptor& d : closure) CHECK(f.store->blobs().Exists(d.digest));
}

TEST_CASE("participants sweep after the dead blobs are gone, and what they remove is reported") {
  Fixture f;
  Digest kept = PutBlob(*f.store, "kept");
  PutBlob(*f.store, "dead");
  FakeParticipant first, second;
  first.blobs = {kept};
  first.leftovers = {"/first/leftover"};
  second.leftovers = {"/second/leftover"};
  PruneReport report = Prune(*f.store, {&first, &second});
  CHECK(first.sweeps == 1);
  CHECK(second.sweeps == 1);
  CHECK(first.blobs_at_sweep == std::vector<Digest>{kept});
  CHECK(report.leftovers == std::vector<std::string>{"/first/leftover", "/second/leftover"});
}

TEST_CASE("a participant that cannot tell what it keeps stops the prune before anything is removed") {
  Fixture f;
  Digest orphan = PutBlob(*f.store, "orphan");
  FakeParticipant broken, other;
  broken.fail = true;
  REQUIRE_THROWS_WITH(Prune(*f.store, {&other, &broken}), "the participant cannot read its records");
  CHECK(f.store->blobs().Exists(orphan));
  CHECK(other.sweeps == 0);
}

TEST_CASE("an image a participant names whose manifest is missing stops the prune, naming its user") {
  Fixture f;
  Digest orphan = PutBlob(*f.store, "orphan");
  Descriptor missing;
  missing.media_type = "application/vnd.oci.image.manifest.v1+json";
  missing.digest = Sha256::Of("no such manifest");
  missing.size = 100;
  FakeParticipant participant;
  participant.images = {{missing, "a fake container"}};
  REQUIRE_THROWS_WITH(Prune(*f.store, {&participant}),
                      Catch::Contains("cannot tell which blobs the image " + missing.digest.str() +
                                      " (used by a fake container) needs"));
  CHECK(f.store->blobs().Exists(orphan));
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
