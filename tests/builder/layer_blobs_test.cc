// Lazy layers: a step's layer is a snapshot first, and gets a blob only when
// an image needs one, written from the snapshot on background threads.
#include <catch2/catch.hpp>
#include <filesystem>

#include "builder/build_cache.h"
#include "builder/layer_blobs.h"
#include "builder/lazy_images.h"
#include "runner/snapshotter.h"
#include "runner/upper_dir_layer.h"
#include "store/image.h"
#include "store/lazy_layer.h"
#include "support/process.h"

using namespace bld;
using bld::testing::TempDir;
using bld::testing::WriteFile;

namespace {

struct Fixture {
  TempDir root;
  std::unique_ptr<store::Store> store = store::Store::Open(root.path());

  // A layer made the way a step makes one: a directory in the store's
  // filesystem, hashed and promoted to its snapshot on `below`.
  store::LayerInfo Promote(const std::string& file, const std::string& content,
                           const std::vector<runner::LayerRef>& below = {}) {
    std::string dir = store->tmp_dir() + "/upper-" + file;
    WriteFile(dir + "/" + file, content);
    std::optional<store::LayerInfo> layer = runner::PromoteUpperDir(*store, below, dir, {});
    REQUIRE(layer);
    return *layer;
  }
  builder::ImageState State(const std::vector<store::LayerInfo>& layers) const {
    builder::ImageState state;
    for (const store::LayerInfo& layer : layers) {
      state.layers.push_back(store::LayerDescriptor(layer));
      state.config.rootfs.diff_ids.push_back(layer.diff_id);
    }
    return state;
  }
  size_t BlobCount() const {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(root.path() + "/blobs/sha256"))
      n += entry.is_regular_file();
    return n;
  }
};

}  // namespace

TEST_CASE("a promoted layer is named by its diffID and usable through its snapshot alone") {
  Fixture f;
  store::LayerInfo layer = f.Promote("a", "alpha\n");
  builder::ImageState state = f.State({layer});
  CHECK(state.layers[0].digest == layer.diff_id);
  CHECK_FALSE(f.store->blobs().Exists(layer.diff_id));
  CHECK(builder::LayerUsable(*f.store, state.layers[0], builder::LayerChainIds(state)[0]));

  // Without the snapshot and without a blob, nothing can stand for it.
  std::filesystem::remove_all(runner::Snapshotter(*f.store).Path(builder::LayerChainIds(state)[0]));
  CHECK_FALSE(builder::LayerUsable(*f.store, state.layers[0], builder::LayerChainIds(state)[0]));
}

TEST_CASE("materializing an image writes each lazy layer's blob once, compressed as the build asks") {
  Fixture f;
  store::LayerInfo bottom = f.Promote("a", "alpha\n");
  store::LayerInfo top = f.Promote("b", "beta\n", {{bottom.diff_id, bottom.digest}});
  builder::ImageState state = f.State({bottom, top});

  store::LayerWriteOptions zstd;
  zstd.compression = store::Compression::kZstd;
  builder::LayerBlobs blobs(*f.store, zstd, 2);
  blobs.Start(builder::LayerChainIds(state)[0], bottom.diff_id);  // as the step that made it would
  std::vector<store::Descriptor> layers = blobs.Materialize(state);
  REQUIRE(layers.size() == 2);
  for (size_t i = 0; i < layers.size(); ++i) {
    CHECK(layers[i].media_type == store::kMediaTypeLayerZstd);
    CHECK(f.store->blobs().Verify(layers[i].digest));
    CHECK(f.store->DiffIdOf(layers[i].digest) == state.config.rootfs.diff_ids[i]);
  }
  size_t written = f.BlobCount();
  CHECK(written == 2);

  // Asked again, by this build or the next, the blobs are found, not written.
  CHECK(blobs.Materialize(state) == layers);
  builder::LayerBlobs next_build(*f.store, zstd, 1);
  CHECK(next_build.Materialize(state) == layers);
  CHECK(f.BlobCount() == written);
}

TEST_CASE("a layer already compressed another way, whose snapshot is gone, is used as it is") {
  Fixture f;
  store::LayerInfo layer = f.Promote("a", "alpha\n");
  builder::ImageState state = f.State({layer});
  builder::LayerBlobs gzip(*f.store, {}, 1);
  std::vector<store::Descriptor> gzipped = gzip.Materialize(state);
  std::filesystem::remove_all(runner::Snapshotter(*f.store).Path(builder::LayerChainIds(state)[0]));

  store::LayerWriteOptions zstd;
  zstd.compression = store::Compression::kZstd;
  builder::LayerBlobs blobs(*f.store, zstd, 1);
  CHECK(builder::LayerUsable(*f.store, state.layers[0], builder::LayerChainIds(state)[0]));
  CHECK(blobs.Materialize(state) == gzipped);
}

TEST_CASE("a lazy layer with neither blob nor snapshot is an error naming the layer") {
  Fixture f;
  store::LayerInfo layer = f.Promote("a", "alpha\n");
  builder::ImageState state = f.State({layer});
  std::filesystem::remove_all(runner::Snapshotter(*f.store).Path(builder::LayerChainIds(state)[0]));
  builder::LayerBlobs blobs(*f.store, {}, 1);
  CHECK_THROWS_WITH(blobs.Materialize(state), Catch::Contains(layer.diff_id.str()) &&
                                                  Catch::Contains("no blob and no snapshot"));
}

TEST_CASE("prune keeps the snapshots of cached layers that have no blob") {
  Fixture f;
  store::LayerInfo lazy = f.Promote("a", "alpha\n");
  store::LayerInfo written = f.Promote("b", "beta\n");
  builder::BuildCache cache(*f.store);
  cache.Put("lazy", f.State({lazy}));
  builder::ImageState with_blob = f.State({written});
  builder::LayerBlobs blobs(*f.store, {}, 1);
  with_blob.layers = blobs.Materialize(with_blob);
  cache.Put("written", with_blob);
  cache.Flush();

  std::set<store::Digest> kept = builder::LazyLayerSnapshots(*f.store);
  CHECK(kept == std::set<store::Digest>{builder::LayerChainIds(f.State({lazy}))[0]});
  CHECK(cache.Get("lazy"));
  CHECK(cache.Get("written"));
}

TEST_CASE("a build no push waits for names its unwritten layers lazily, with their compression and clamp") {
  Fixture f;
  store::LayerInfo layer = f.Promote("a", "alpha\n");
  builder::ImageState state = f.State({layer});
  store::LayerWriteOptions zstd;
  zstd.compression = store::Compression::kZstd;
  zstd.source_date_epoch = 0;
  builder::LayerBlobs blobs(*f.store, zstd, 1);
  std::vector<store::Descriptor> lazy = blobs.LazyLayers(state);
  REQUIRE(lazy.size() == 1);
  CHECK(store::IsLazyLayer(lazy[0]));
  CHECK(lazy[0].digest == layer.diff_id);
  CHECK(lazy[0].size == static_cast<int64_t>(layer.uncompressed_size));
  CHECK(lazy[0].annotations.at("dev.bld.lazy") == "zstd");
  CHECK(lazy[0].annotations.at("dev.bld.source-date-epoch") == "0");
  CHECK(f.BlobCount() == 0);

  // Once a blob compressed as asked exists, it is named instead. (This
  // layer was made without a clamp: written with one, it would not give its
  // diffID, and Materialize would refuse.)
  zstd.source_date_epoch.reset();
  builder::LayerBlobs unclamped(*f.store, zstd, 1);
  std::vector<store::Descriptor> written = unclamped.Materialize(state);
  CHECK(blobs.LazyLayers(state) == written);
}

TEST_CASE("completing a lazy image writes its blobs as annotated and moves its names; the ID stays") {
  Fixture f;
  store::LayerInfo bottom = f.Promote("a", "alpha\n");
  store::LayerInfo top = f.Promote("b", "beta\n", {{bottom.diff_id, bottom.digest}});
  builder::ImageState state = f.State({bottom, top});
  store::LayerWriteOptions zstd;
  zstd.compression = store::Compression::kZstd;
  builder::LayerBlobs build_blobs(*f.store, zstd, 1);
  state.layers = build_blobs.LazyLayers(state);
  store::Digest id;
  store::Descriptor lazy = store::WriteImage(*f.store, state.config, state.layers, true, &id);
  f.store->PutRef("example.com/app:v1", lazy);

  store::Descriptor complete = builder::CompleteImage(*f.store, lazy, 2);
  CHECK(complete.digest != lazy.digest);
  CHECK(f.store->GetRef("example.com/app:v1") == complete);
  store::Image image = store::ReadImage(*f.store, complete);
  CHECK(image.id() == id);
  for (const store::Descriptor& layer : image.manifest.layers) {
    CHECK(layer.media_type == store::kMediaTypeLayerZstd);
    CHECK_FALSE(store::IsLazyLayer(layer));
    CHECK(f.store->blobs().Verify(layer.digest));
  }
  // Complete already: the same descriptor back, nothing written.
  size_t blobs = f.BlobCount();
  CHECK(builder::CompleteImage(*f.store, complete, 2) == complete);
  CHECK(f.BlobCount() == blobs);
}
