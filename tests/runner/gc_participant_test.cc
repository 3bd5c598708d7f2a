// The runner's part in `bld prune`: snapshots no image uses go with their
// records, containers keep their images, and what dead processes left goes.
#include "runner/gc_participant.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "runner/container_state.h"
#include "runner/snapshotter.h"
#include "store/image.h"
#include "support/process.h"
#include "support/test_images.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;
using runner::RunnerGcParticipant;
using store::Descriptor;
using store::Digest;
using store::GcLock;
using store::PruneReport;
using store::Sha256;
using store::Table;

struct Fixture {
  TempDir dir;
  std::unique_ptr<store::Store> store = store::Store::Open(dir / "store");

  PruneReport Prune() {
    RunnerGcParticipant runner;
    GcLock lock(*store, GcLock::Mode::kExclusive);
    return store::Prune(*store, lock, {&runner});
  }
  std::string SnapshotDir(const Digest& chain_id) const {
    return store->snapshots_dir() + "/" + std::string(chain_id.hex());
  }
  // A snapshot as the runner leaves it: a directory named by the chain ID
  // hex, with a record.
  void MakeSnapshot(const Digest& chain_id) {
    WriteFile(SnapshotDir(chain_id) + "/etc/file", "snapshot content");
    store->meta().Write([&](store::WriteTxn& t) {
      t.Put(Table::kSnapshots, chain_id.str(), R"({"diff_id":")" + chain_id.str() + "\"}");
    });
  }
  bool HasRecord(const Digest& chain_id) const {
    return store->meta().Read(
        [&](const store::ReadTxn& t) { return t.Get(Table::kSnapshots, chain_id.str()).has_value(); });
  }
  // The snapshot of the only layer of the image `manifest` names.
  Digest ChainIdOf(const Descriptor& manifest) const {
    return runner::Snapshotter::ChainIds(store::ReadImage(*store, manifest).config.rootfs.diff_ids).at(0);
  }
};

// A participant that keeps one snapshot, as the build cache keeps those of
// its layers that have no blob.
class KeepsSnapshot : public store::GcParticipant {
 public:
  explicit KeepsSnapshot(Digest chain_id) : chain_id_(std::move(chain_id)) {}
  void AddRoots(const store::Store&, store::GcRoots& roots) const override { roots.snapshots.insert(chain_id_); }
  void Sweep(store::Store&, const store::GcRoots&, PruneReport&) override {}

 private:
  Digest chain_id_;
};

}  // namespace

TEST_CASE("prune removes snapshots not in use with their records, and keeps those in use") {
  Fixture f;
  Digest used = f.ChainIdOf(MakeBusyboxImage(*f.store, "busybox"));
  Digest unused = Sha256::Of("unused");
  f.MakeSnapshot(used);
  f.MakeSnapshot(unused);
  // A record whose directory is gone.
  Digest recorded_only = Sha256::Of("recorded only");
  f.store->meta().Write([&](store::WriteTxn& t) { t.Put(Table::kSnapshots, recorded_only.str(), "{}"); });
  PruneReport report = f.Prune();
  CHECK(report.snapshots == std::vector<Digest>{unused});
  CHECK(report.snapshot_bytes == 16);
  CHECK(fs::exists(f.SnapshotDir(used) + "/etc/file"));
  CHECK_FALSE(fs::exists(f.SnapshotDir(unused)));
  CHECK_FALSE(fs::exists(f.store->snapshots_dir() + "/tmp-" + std::string(unused.hex())));
  CHECK(f.HasRecord(used));
  CHECK_FALSE(f.HasRecord(unused));
  CHECK_FALSE(f.HasRecord(recorded_only));
}

TEST_CASE("a snapshot another participant keeps survives the runner's sweep, whatever the order") {
  Fixture f;
  Digest kept = Sha256::Of("kept by another participant");
  Digest unused = Sha256::Of("unused");
  f.MakeSnapshot(kept);
  f.MakeSnapshot(unused);
  RunnerGcParticipant runner;
  KeepsSnapshot keeper(kept);
  GcLock lock(*f.store, GcLock::Mode::kExclusive);
  PruneReport report = store::Prune(*f.store, lock, {&runner, &keeper});
  CHECK(report.snapshots == std::vector<Digest>{unused});
  CHECK(fs::exists(f.SnapshotDir(kept) + "/etc/file"));
  CHECK(f.HasRecord(kept));
}

TEST_CASE("prune finishes a snapshot removal that a killed prune left under the retired name") {
  Fixture f;
  Digest unused = Sha256::Of("unused");
  f.MakeSnapshot(unused);
  WriteFile(f.store->snapshots_dir() + "/tmp-" + std::string(unused.hex()) + "/half", "x");
  f.Prune();
  CHECK_FALSE(fs::exists(f.store->snapshots_dir() + "/tmp-" + std::string(unused.hex())));
  CHECK_FALSE(fs::exists(f.SnapshotDir(unused)));
}

TEST_CASE("a container keeps its image's blobs and snapshots after the image lost its name") {
  Fixture f;
  Descriptor manifest = MakeBusyboxImage(*f.store, "busybox");
  Digest chain_id = f.ChainIdOf(manifest);
  f.MakeSnapshot(chain_id);
  runner::ContainerRecord record;
  record.id = std::string(64, 'c');
  record.image = "busybox";
  record.image_manifest = manifest.digest.str();
  runner::CreateRecord(*f.store, record);
  f.store->DeleteRef("docker.io/library/busybox:latest");
  PruneReport report = f.Prune();
  CHECK(report.blobs.empty());
  CHECK(report.snapshots.empty());
  for (const Descriptor& d : f.store->Closure(manifest)) CHECK(f.store->blobs().Exists(d.digest));
  CHECK(fs::exists(f.SnapshotDir(chain_id)));
}

TEST_CASE("prune removes the directories of unpacks and containers whose process died") {
  Fixture f;
  WriteFile(f.store->snapshots_dir() + "/tmp-dead/bin/sh", "x");
  WriteFile(f.store->containers_dir() + "/deadcontainer/upper/file", "x");
  PruneReport report = f.Prune();
  std::sort(report.leftovers.begin(), report.leftovers.end());
  CHECK(report.leftovers == std::vector<std::string>{f.store->containers_dir() + "/deadcontainer",
                                                     f.store->snapshots_dir() + "/tmp-dead"});
  CHECK_FALSE(fs::exists(f.store->snapshots_dir() + "/tmp-dead"));
  CHECK_FALSE(fs::exists(f.store->containers_dir() + "/deadcontainer"));
}

}  // namespace bld::testing
