// Image indexes a multi-platform build writes, and how a ref to one is read
// for listing (store/image.h: WriteIndex, ReadNamedImage).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "store/error.h"
#include "store/image.h"
#include "support/process.h"

using bld::store::Descriptor;
using bld::store::ImageConfig;
using bld::store::ParsePlatform;
using bld::store::Platform;
using bld::store::Store;

namespace {

// A config-only image (no layers) for `platform`, with its descriptor's
// platform set as an index entry carries it.
Descriptor SmallImage(Store& store, const std::string& platform) {
  ImageConfig config;
  Platform p = ParsePlatform(platform);
  config.architecture = p.architecture;
  config.os = p.os;
  config.variant = p.variant;
  config.config.env = {"MADE_FOR=" + platform};
  Descriptor d = bld::store::WriteImage(store, config, {});
  d.platform = p;
  return d;
}

}  // namespace

TEST_CASE("an index written over two platforms' images gives each platform its own image") {
  bld::testing::TempDir dir;
  auto store = Store::Open(dir / "store");
  Descriptor amd64 = SmallImage(*store, "linux/amd64");
  Descriptor arm64 = SmallImage(*store, "linux/arm64");
  Descriptor index = bld::store::WriteIndex(*store, {amd64, arm64});
  CHECK(index.media_type == "application/vnd.oci.image.index.v1+json");
  CHECK(store->BlobRecord(index.digest).has_value());
  CHECK(bld::store::ReadImage(*store, index, ParsePlatform("linux/arm64")).manifest_descriptor.digest == arm64.digest);
  CHECK(bld::store::ReadImage(*store, index, ParsePlatform("linux/amd64")).manifest_descriptor.digest == amd64.digest);

  // Listed with the index's digest as its ID, the wanted platform's image
  // for the rest, and both entries.
  bld::store::NamedImage named = bld::store::ReadNamedImage(*store, index, ParsePlatform("linux/arm64"));
  CHECK(named.id == index.digest);
  CHECK(named.image.manifest_descriptor.digest == arm64.digest);
  REQUIRE(named.entries.size() == 2);
  CHECK(named.entries[1].platform == ParsePlatform("linux/arm64"));
  // A machine none of the entries is for still lists it, by its first.
  named = bld::store::ReadNamedImage(*store, index, ParsePlatform("linux/s390x"));
  CHECK(named.id == index.digest);
  CHECK(named.image.manifest_descriptor.digest == amd64.digest);
  // A plain image is listed by its config digest.
  amd64.platform.reset();
  named = bld::store::ReadNamedImage(*store, amd64);
  CHECK(named.id == named.image.id());
  CHECK(named.entries.empty());
}

TEST_CASE("a Docker manifest list is written when the OCI format is not wanted") {
  bld::testing::TempDir dir;
  auto store = Store::Open(dir / "store");
  Descriptor index = bld::store::WriteIndex(*store, {SmallImage(*store, "linux/arm/v7")}, false);
  CHECK(index.media_type == "application/vnd.docker.distribution.manifest.list.v2+json");
  std::string json = store->blobs().ReadAll(index.digest, bld::store::kMaxIndexSize);
  CHECK_THAT(json, Catch::Contains("\"variant\":\"v7\""));
}

TEST_CASE("an index entry without a platform, or two for one platform, is refused") {
  bld::testing::TempDir dir;
  auto store = Store::Open(dir / "store");
  Descriptor plain = SmallImage(*store, "linux/amd64");
  plain.platform.reset();
  CHECK_THROWS_WITH(bld::store::WriteIndex(*store, {plain}), Catch::Contains("has no platform"));
  // aarch64 is arm64: the same platform, spelled two ways.
  Descriptor a = SmallImage(*store, "linux/arm64");
  Descriptor b = SmallImage(*store, "linux/aarch64");
  CHECK_THROWS_WITH(bld::store::WriteIndex(*store, {a, b}), Catch::Contains("two images for linux/arm64"));
}
