// An image's filesystem exported as files or one tar (bld build -o
// type=local / type=tar), and an OCI layout written as a directory.
#include "store/rootfs_export.h"

#include <archive.h>
#include <archive_entry.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "store/error.h"
#include "store/image.h"
#include "store/image_archive.h"
#include "support/process.h"
#include "support/tar_builder.h"

namespace fs = std::filesystem;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::ImageConfig;
using bld::store::LayerInfo;
using bld::store::Sha256;
using bld::store::Store;
using bld::testing::ReadFile;
using bld::testing::TarBuilder;
using bld::testing::TempDir;

namespace {

// Stores `tar` as an uncompressed layer.
Descriptor StoreTar(Store& store, const std::string& tar) {
  LayerInfo info = bld::store::StoreLayer(store, [&](const bld::store::ByteSink& sink) {
    sink(tar.data(), tar.size());
    LayerInfo written;
    written.diff_id = written.digest = Sha256::Of(tar);
    written.compressed_size = written.uncompressed_size = tar.size();
    written.media_type = std::string(bld::store::kMediaTypeLayerTar);
    return written;
  });
  return bld::store::LayerDescriptor(info);
}

// An image of the given layers (uncompressed tars), base first.
Descriptor MakeImage(Store& store, const std::vector<std::string>& tars) {
  ImageConfig config;
  config.architecture = bld::store::HostPlatform().architecture;
  config.os = "linux";
  std::vector<Descriptor> layers;
  for (const std::string& tar : tars) {
    layers.push_back(StoreTar(store, tar));
    config.rootfs.diff_ids.push_back(layers.back().digest);
  }
  return bld::store::WriteImage(store, config, layers);
}

// A base layer, and one that adds a file, deletes one and hides a directory.
Descriptor TwoLayerImage(Store& store) {
  std::string base = TarBuilder()
                         .Dir("etc")
                         .File("etc/keep", "keep\n")
                         .File("etc/gone", "gone\n")
                         .Dir("cache")
                         .File("cache/old", "old\n")
                         .Symlink("link", "etc/keep")
                         .Finish();
  std::string top = TarBuilder()
                        .File("etc/.wh.gone", "")
                        .Dir("cache")
                        .File("cache/.wh..wh..opq", "")
                        .File("cache/new", "new\n")
                        .File("added", "added\n")
                        .Hardlink("added-again", "added")
                        .Finish();
  return MakeImage(store, {base, top});
}

std::set<std::string> Tree(const std::string& dir) {
  std::set<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) paths.insert(entry.path().lexically_relative(dir));
  return paths;
}

const std::set<std::string> kTwoLayerTree = {"etc",   "etc/keep", "cache",      "cache/new",
                                             "link",  "added",    "added-again"};

}  // namespace

TEST_CASE("an exported image holds its layers applied in order, whiteouts and opaque directories honoured") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  Descriptor image = TwoLayerImage(*store);
  std::string out = dir / "out/rootfs";
  CHECK(bld::store::ExportRootfs(*store, image, out).empty());
  CHECK(Tree(out) == kTwoLayerTree);
  CHECK(ReadFile(out + "/cache/new") == "new\n");
  CHECK(fs::read_symlink(out + "/link") == "etc/keep");
  CHECK(fs::equivalent(out + "/added", out + "/added-again"));
}

TEST_CASE("an exported tar holds the same filesystem, with the hard link kept") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  Descriptor image = TwoLayerImage(*store);
  std::string tar;
  bld::store::WriteRootfsTar(*store, image, store->tmp_dir(), std::nullopt,
                             [&](const void* data, size_t size) { tar.append(static_cast<const char*>(data), size); });
  std::set<std::string> names;
  std::map<std::string, std::string> hardlinks;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (name.back() == '/') name.pop_back();
    names.insert(name);
    if (const char* target = archive_entry_hardlink(e)) hardlinks[name] = target;
  }
  archive_read_free(a);
  CHECK(names == kTwoLayerTree);
  CHECK(hardlinks == std::map<std::string, std::string>{{"added-again", "added"}});
  // The scratch directory is gone.
  CHECK(fs::is_empty(store->tmp_dir()));
}

TEST_CASE("an export refuses a layer whose content is not the diffID the config lists") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  Descriptor layer = StoreTar(*store, TarBuilder().File("a", "a").Finish());
  ImageConfig config;
  config.architecture = bld::store::HostPlatform().architecture;
  config.os = "linux";
  config.rootfs.diff_ids.push_back(Sha256::Of(std::string("something else")));
  Descriptor image = bld::store::WriteImage(*store, config, {layer});
  REQUIRE_THROWS_WITH(bld::store::ExportRootfs(*store, image, dir / "out"),
                      Catch::Contains("as the image config says"));
}

TEST_CASE("an OCI layout written as a directory holds the files of the OCI archive") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  Descriptor image = MakeImage(*store, {TarBuilder().File("a", "a").Finish()});
  std::vector<bld::store::SaveRequest> requests = {{image, {{"docker.io/team/app:v1", "team/app:v1"}}}};
  std::string layout = dir / "layout";
  bld::store::SaveOciLayout(*store, requests, layout);
  CHECK(nlohmann::json::parse(ReadFile(layout + "/oci-layout")) == nlohmann::json{{"imageLayoutVersion", "1.0.0"}});
  nlohmann::json index = nlohmann::json::parse(ReadFile(layout + "/index.json"));
  CHECK(index["manifests"][0]["digest"] == image.digest.str());
  CHECK(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v1");
  for (const Descriptor& d : store->Closure(image))
    CHECK(ReadFile(layout + "/blobs/sha256/" + std::string(d.digest.hex())) ==
          store->blobs().ReadAll(d.digest, 1 << 20));
  // A second layout is not written over the first.
  REQUIRE_THROWS_WITH(bld::store::SaveOciLayout(*store, requests, layout), Catch::Contains("it is not empty"));
}
