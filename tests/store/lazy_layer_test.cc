#include "store/lazy_layer.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "store/error.h"
#include "store/garbage_collector.h"
#include "store/image.h"
#include "store/store.h"
#include "store/store_check.h"
#include "support/process.h"

namespace fs = std::filesystem;
namespace media_type = bld::store::media_type;
using bld::store::Compression;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::ImageConfig;
using bld::store::LayerWriteOptions;
using bld::store::Sha256;
using bld::store::Store;
using bld::testing::TempDir;

namespace {

// An image of one stored gzip layer and one lazy layer on top of it, and
// what went into it.
struct LazyImage {
  Digest base_diff_id = Sha256::Of("base tar");
  Digest lazy_diff_id = Sha256::Of("lazy tar");
  Descriptor lazy_layer;
  Descriptor manifest;
  Digest lazy_chain_id;
};

LazyImage PutLazyImage(Store& store) {
  LazyImage image;
  bld::store::BlobInfo base = store.blobs().Put("base blob");
  store.RecordDiffId(image.base_diff_id, base.digest);
  Descriptor base_layer{std::string(media_type::kOciLayerGzip), base.digest, static_cast<int64_t>(base.size), {}, {}, {}};
  LayerWriteOptions options;
  options.source_date_epoch = 0;
  image.lazy_layer = bld::store::LazyLayerDescriptor(image.lazy_diff_id, 4096, options);
  ImageConfig config;
  config.architecture = "amd64";
  config.os = "linux";
  config.rootfs.diff_ids = {image.base_diff_id, image.lazy_diff_id};
  image.manifest = bld::store::WriteImage(store, config, {base_layer, image.lazy_layer});
  image.lazy_chain_id = bld::store::ChainIds(config.rootfs.diff_ids).back();
  return image;
}

}  // namespace

TEST_CASE("a lazy layer descriptor names the uncompressed tar and says how its blob is to be written") {
  LayerWriteOptions options;
  options.compression = Compression::kZstd;
  options.source_date_epoch = 1700000000;
  Descriptor d = bld::store::LazyLayerDescriptor(Sha256::Of("tar"), 10240, options);
  CHECK(d.media_type == media_type::kOciLayer);
  CHECK(d.digest == Sha256::Of("tar"));
  CHECK(d.size == 10240);
  CHECK(bld::store::IsLazyLayer(d));
  LayerWriteOptions back = bld::store::LazyLayerOptions(d);
  CHECK(back.compression == Compression::kZstd);
  CHECK(back.source_date_epoch == 1700000000);

  // Without a clamp, none is read back; "uncompressed" is kNone.
  options.compression = Compression::kNone;
  options.source_date_epoch.reset();
  back = bld::store::LazyLayerOptions(bld::store::LazyLayerDescriptor(Sha256::Of("tar"), 1, options));
  CHECK(back.compression == Compression::kNone);
  CHECK_FALSE(back.source_date_epoch.has_value());

  // The blob's descriptor drops the annotations and nothing else.
  Descriptor blob = bld::store::LayerBlobDescriptor(d);
  CHECK_FALSE(bld::store::IsLazyLayer(blob));
  CHECK(blob.annotations.empty());
  CHECK(blob.digest == d.digest);
}

TEST_CASE("lazy layer annotations bld did not write are refused, naming the layer") {
  Descriptor d = bld::store::LazyLayerDescriptor(Sha256::Of("tar"), 1, {});
  d.annotations["dev.bld.lazy"] = "brotli";
  CHECK_THROWS_WITH(bld::store::LazyLayerOptions(d), Catch::Contains(d.digest.str()) && Catch::Contains("brotli"));
  d.annotations["dev.bld.lazy"] = "gzip";
  d.annotations["dev.bld.source-date-epoch"] = "12abc";
  CHECK_THROWS_WITH(bld::store::LazyLayerOptions(d), Catch::Contains("12abc"));
}

TEST_CASE("chain IDs follow the OCI definition") {
  Digest a = Sha256::Of("a"), b = Sha256::Of("b"), c = Sha256::Of("c");
  std::vector<Digest> chain = bld::store::ChainIds({a, b, c});
  REQUIRE(chain.size() == 3);
  CHECK(chain[0] == a);
  CHECK(chain[1] == Sha256::Of(a.str() + " " + b.str()));
  CHECK(chain[2] == Sha256::Of(chain[1].str() + " " + c.str()));
}

TEST_CASE("a ref may name a lazy layer only while a snapshot holds it") {
  TempDir dir;
  auto store = Store::Open(dir / "root");
  LazyImage image = PutLazyImage(*store);
  CHECK_THROWS_WITH(store->PutRef("lazy:v1", image.manifest),
                    Catch::Contains(image.lazy_diff_id.str()) && Catch::Contains("snapshot"));
  CHECK_FALSE(store->GetRef("lazy:v1"));

  // The snapshot at its chain ID, or the layer's own (made apart from its base).
  for (const Digest& holder : {image.lazy_chain_id, image.lazy_diff_id}) {
    fs::create_directories(bld::store::SnapshotPath(*store, holder));
    store->PutRef("lazy:v1", image.manifest);
    CHECK(store->GetRef("lazy:v1") == image.manifest);
    CHECK(bld::store::CheckStore(*store).problems.empty());
    fs::remove_all(bld::store::SnapshotPath(*store, holder));
  }

  // Its snapshot gone, check names the layer.
  bld::store::CheckReport report = bld::store::CheckStore(*store);
  REQUIRE(report.problems.size() == 1);
  CHECK_THAT(report.problems[0], Catch::Contains(image.lazy_diff_id.str()) && Catch::Contains("snapshot"));
}

TEST_CASE("a layer without the lazy annotation must have its blob, snapshot or not") {
  TempDir dir;
  auto store = Store::Open(dir / "root");
  LazyImage image = PutLazyImage(*store);
  fs::create_directories(bld::store::SnapshotPath(*store, image.lazy_chain_id));
  ImageConfig config;
  config.rootfs.diff_ids = {image.lazy_diff_id};
  Descriptor plain = bld::store::LayerBlobDescriptor(image.lazy_layer);
  Descriptor manifest = bld::store::WriteImage(*store, config, {plain});
  CHECK_THROWS_WITH(store->PutRef("plain:v1", manifest), Catch::Contains("is not in the store"));
}

TEST_CASE("ReplaceImage moves every name of an image, and its untagged name, to the completed manifest") {
  TempDir dir;
  auto store = Store::Open(dir / "root");
  LazyImage image = PutLazyImage(*store);
  fs::create_directories(bld::store::SnapshotPath(*store, image.lazy_chain_id));
  std::string untagged = bld::store::UntaggedRefName(image.manifest.digest);
  for (const std::string& name : {std::string("a:v1"), std::string("b:v2"), untagged})
    store->PutRef(name, image.manifest);
  Descriptor other = bld::store::WriteImage(*store, ImageConfig{}, {});
  store->PutRef("other:v1", other);

  // The completed image: the lazy layer's blob written.
  bld::store::BlobInfo blob = store->blobs().Put("lazy blob");
  store->RecordDiffId(image.lazy_diff_id, blob.digest);
  ImageConfig config;
  config.architecture = "amd64";
  config.os = "linux";
  config.rootfs.diff_ids = {image.base_diff_id, image.lazy_diff_id};
  bld::store::ImageManifest lazy = bld::store::ParseImageManifest(
      store->blobs().ReadAll(image.manifest.digest, bld::store::kMaxManifestSize), image.manifest.digest);
  lazy.layers[1] = Descriptor{std::string(media_type::kOciLayerGzip), blob.digest, static_cast<int64_t>(blob.size),
                              {}, {}, {}};
  Descriptor complete = bld::store::WriteManifest(
      *store, {lazy.config.digest, static_cast<uint64_t>(lazy.config.size)}, lazy.layers);

  store->ReplaceImage(image.manifest, complete);
  CHECK(store->GetRef("a:v1") == complete);
  CHECK(store->GetRef("b:v2") == complete);
  CHECK(store->GetRef("other:v1") == other);
  CHECK_FALSE(store->GetRef(untagged));
  CHECK(store->GetRef(bld::store::UntaggedRefName(complete.digest)) == complete);

  // The snapshot may go now: nothing names the lazy layer.
  fs::remove_all(bld::store::SnapshotPath(*store, image.lazy_chain_id));
  CHECK(bld::store::CheckStore(*store).problems.empty());
}

TEST_CASE("a ref may name a layer whose blob is absent only when it is recorded as remote") {
  TempDir dir;
  auto store = Store::Open(dir / "root");
  Digest diff_id = Sha256::Of("remote tar");
  Descriptor layer{std::string(media_type::kOciLayerGzip), Sha256::Of("remote blob"), 123, {}, {}, {}};
  ImageConfig config;
  config.architecture = "amd64";
  config.os = "linux";
  config.rootfs.diff_ids = {diff_id};
  Descriptor manifest = bld::store::WriteImage(*store, config, {layer});
  CHECK_THROWS_WITH(store->PutRef("remote:v1", manifest), Catch::Contains("is not in the store"));
  CHECK_FALSE(store->RemoteBlobRecord(layer.digest));

  store->RecordRemoteBlob(layer, diff_id);
  std::optional<Store::RemoteBlob> record = store->RemoteBlobRecord(layer.digest);
  REQUIRE(record);
  CHECK(record->blob == layer);
  CHECK(record->diff_id == diff_id);
  store->PutRef("remote:v1", manifest);
  CHECK(store->GetRef("remote:v1") == manifest);
  // Not a problem for check: the layer is fetched when something reads it.
  CHECK(bld::store::CheckStore(*store).problems.empty());

  // A prune keeps the record while a ref names the layer, and drops it after.
  {
    bld::store::GcLock lock(*store, bld::store::GcLock::Mode::kExclusive);
    bld::store::Prune(*store, lock, {});
  }
  CHECK(store->RemoteBlobRecord(layer.digest));
  store->DeleteRef("remote:v1");
  {
    bld::store::GcLock lock(*store, bld::store::GcLock::Mode::kExclusive);
    bld::store::Prune(*store, lock, {});
  }
  CHECK_FALSE(store->RemoteBlobRecord(layer.digest));
}
