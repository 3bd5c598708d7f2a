// The build cache's part in `bld prune`: the layers its result records name
// stay, through the store's GcParticipant interface.
#include "builder/build_cache.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "builder/layer_blobs.h"
#include "runner/gc_participant.h"
#include "runner/snapshotter.h"
#include "runner/upper_dir_layer.h"
#include "store/garbage_collector.h"
#include "store/image.h"
#include "support/process.h"

using bld::builder::BuildCacheGcParticipant;
using bld::store::Digest;
using bld::store::GcLock;
using bld::store::Store;
using bld::store::Table;

namespace {

struct Fixture {
  bld::testing::TempDir dir;
  std::unique_ptr<Store> store = Store::Open(dir / "store");

  Digest Put(const std::string& content) { return store->blobs().Put(content).digest; }
  void Prune() {
    BuildCacheGcParticipant cache;
    GcLock lock(*store, GcLock::Mode::kExclusive);
    bld::store::Prune(*store, lock, {&cache});
  }
};

}  // namespace

TEST_CASE("prune keeps the layers build cache records name") {
  Fixture f;
  Digest cached = f.Put("a cached layer");
  Digest unreadable = f.Put("named by a record nobody can read");
  nlohmann::json record = {{"config", nlohmann::json::object()},
                           {"layers", {{{"mediaType", "x"}, {"digest", cached.str()}, {"size", 14}}}}};
  f.store->meta().Write([&](bld::store::WriteTxn& t) {
    t.Put(Table::kCache, "k:" + std::string(64, 'a'), record.dump());
    t.Put(Table::kCache, "k:" + std::string(64, 'b'), "{not json " + unreadable.str());
    t.Put(Table::kCache, "e:explain", R"({"layers":[{"digest":")" + unreadable.str() + "\"}]}");
  });
  f.Prune();
  CHECK(f.store->blobs().Exists(cached));
  CHECK_FALSE(f.store->blobs().Exists(unreadable));
}

TEST_CASE("a cache record whose layers are not digests keeps nothing and stops nothing") {
  Fixture f;
  Digest orphan = f.Put("orphan");
  f.store->meta().Write([&](bld::store::WriteTxn& t) {
    t.Put(Table::kCache, "k:" + std::string(64, 'c'), R"({"layers":[{"digest":"sha256:nothex"},42,{"digest":7}]})");
  });
  f.Prune();
  CHECK_FALSE(f.store->blobs().Exists(orphan));
}

TEST_CASE("the layers of a record the build cache wrote itself stay through a prune") {
  Fixture f;
  Digest layer = f.Put("layer bytes");
  bld::builder::ImageState state;
  state.config.architecture = "amd64";
  state.config.os = "linux";
  bld::store::Descriptor d;
  d.media_type = "application/vnd.oci.image.layer.v1.tar";
  d.digest = layer;
  d.size = 11;
  state.layers = {d};
  // As the builder writes a record: a diffID per layer.
  state.config.rootfs.diff_ids = {bld::store::Sha256::Of("the layer's tar")};
  bld::builder::BuildCache cache(*f.store);
  cache.Put(std::string(64, 'd'), state);
  cache.Flush();
  f.Prune();
  CHECK(f.store->blobs().Exists(layer));
  CHECK(cache.Get(std::string(64, 'd')).has_value());
}

TEST_CASE("prune with the runner keeps the snapshot of a cached layer that has no blob") {
  Fixture f;
  std::string upper = f.store->tmp_dir() + "/upper";
  bld::testing::WriteFile(upper + "/a", "alpha\n");
  std::optional<bld::store::LayerInfo> layer = bld::runner::PromoteUpperDir(*f.store, {}, upper, {});
  REQUIRE(layer);
  REQUIRE_FALSE(f.store->blobs().Exists(layer->digest));
  bld::builder::ImageState state;
  state.layers.push_back(bld::store::LayerDescriptor(*layer));
  state.config.rootfs.diff_ids.push_back(layer->diff_id);
  bld::builder::BuildCache cache(*f.store);
  cache.Put(std::string(64, 'e'), state);
  cache.Flush();
  Digest chain_id = bld::builder::LayerChainIds(state).at(0);

  BuildCacheGcParticipant cache_gc;
  bld::runner::RunnerGcParticipant runner;
  GcLock lock(*f.store, GcLock::Mode::kExclusive);
  bld::store::PruneReport report = bld::store::Prune(*f.store, lock, {&cache_gc, &runner});
  CHECK(report.snapshots.empty());
  CHECK(std::filesystem::exists(bld::runner::Snapshotter(*f.store).Path(chain_id)));
  CHECK(cache.Get(std::string(64, 'e')).has_value());
}
