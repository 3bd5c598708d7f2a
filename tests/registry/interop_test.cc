// What bld pushes, skopeo (containers/image) reads; what skopeo pushes, bld
// pulls and verifies; multi-platform indexes resolve as docker resolves them.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "store/platform.h"
#include "registry/puller.h"
#include "registry/pusher.h"
#include "support/process.h"
#include "support/registry_server.h"
#include "support/registry_store_images.h"

using bld::store::ParsePlatform;
using bld::registry::Pull;
using bld::registry::PullOptions;
using bld::registry::Push;
using bld::registry::Reference;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::Store;
using bld::testing::BuildTestImage;
using bld::testing::BuildTestIndex;
using bld::testing::OptionsFor;
using bld::testing::ProcessResult;
using bld::testing::PutInStore;
using bld::testing::ReadFile;
using bld::testing::RegistryServer;
using bld::testing::RunProcess;
using bld::testing::SmallImageSpec;
using bld::testing::TempDir;
using bld::testing::TestImage;
using bld::testing::TestImageSpec;
using bld::testing::TestIndex;
using bld::testing::WriteFile;
using bld::testing::WriteOciLayout;
using nlohmann::json;

namespace {

ProcessResult Skopeo(const TempDir& dir, std::vector<std::string> args) {
  return bld::testing::RunSkopeo(dir, std::move(args));
}

// skopeo pushes an OCI layout to the registry; returns the pushed name.
std::string SkopeoPush(const RegistryServer& registry, const TempDir& dir, const std::string& tag, bool all,
                       const std::string& repository) {
  std::string name = registry.host() + "/" + repository + ":" + tag;
  std::vector<std::string> args = {"copy", "--dest-tls-verify=false"};
  if (all) args.push_back("--all");
  args.push_back("oci:" + dir / "layout" + ":" + tag);
  args.push_back("docker://" + name);
  ProcessResult r = Skopeo(dir, args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return name;
}

PullOptions PullWith(const RegistryServer& registry, const TempDir& config) {
  PullOptions options;
  options.registry = OptionsFor(registry, config.path());
  return options;
}

void CheckPulledContent(const Store& store, const TestImage& image) {
  for (size_t i = 0; i < image.layers.size(); ++i) {
    Digest layer = Digest::Parse(image.layers[i].digest);
    REQUIRE(store.blobs().Exists(layer));
    CHECK(store.blobs().Verify(layer));
    CHECK(store.DiffIdOf(layer) == Digest::Parse(image.diff_ids[i]));
  }
  CHECK(store.blobs().ReadAll(Digest::Parse(image.config.digest), 1 << 20) == image.config.data);
}

}  // namespace

TEST_CASE("an image pushed by bld is read by skopeo inspect and copied by skopeo to a directory") {
  RegistryServer registry;
  TempDir dir, config;
  auto store = Store::Open(dir / "store");
  TestImage image = BuildTestImage(SmallImageSpec("interop"));
  std::string name = registry.host() + "/interop/app:v1";
  PutInStore(*store, name, image);
  Push(*store, Reference::ParseDockerRef(name), {OptionsFor(registry, config.path())});

  ProcessResult inspect = Skopeo(dir, {"inspect", "--tls-verify=false", "docker://" + name});
  INFO(inspect.err);
  REQUIRE(inspect.exit_code == 0);
  json info = json::parse(inspect.out);
  CHECK(info["Digest"] == image.manifest.digest);
  CHECK(info["Layers"] == json({image.layers[0].digest, image.layers[1].digest}));
  CHECK(info["Architecture"] == "amd64");

  ProcessResult copy = Skopeo(dir, {"copy", "--src-tls-verify=false", "docker://" + name, "dir:" + dir / "copy"});
  INFO(copy.err);
  REQUIRE(copy.exit_code == 0);
  CHECK(ReadFile(dir / "copy/manifest.json") == image.manifest.data);
  for (const auto& layer : image.layers) CHECK(ReadFile(dir / ("copy/" + layer.digest.substr(7))) == layer.data);
}

TEST_CASE("an OCI image pushed by skopeo is pulled by bld with its content verified") {
  RegistryServer registry;
  TempDir dir, config;
  TestImage image = BuildTestImage(SmallImageSpec("from skopeo"));
  WriteOciLayout(dir / "layout", "v1", image);
  std::string name = SkopeoPush(registry, dir, "v1", false, "skopeo/app");
  auto store = Store::Open(dir / "store");
  Descriptor pulled = Pull(*store, Reference::ParseDockerRef(name), PullWith(registry, config));
  CHECK(pulled.digest.str() == image.manifest.digest);
  CheckPulledContent(*store, image);
}

TEST_CASE("a Docker schema 2 image pushed by skopeo is pulled by bld") {
  RegistryServer registry;
  TempDir dir, config;
  TestImage image = BuildTestImage(SmallImageSpec("docker types"));
  WriteOciLayout(dir / "layout", "v1", image);
  std::string name = registry.host() + "/skopeo/docker:v1";
  ProcessResult r = Skopeo(dir, {"copy", "--dest-tls-verify=false", "--format", "v2s2", "oci:" + dir / "layout" + ":v1",
                                 "docker://" + name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto store = Store::Open(dir / "store");
  Descriptor pulled = Pull(*store, Reference::ParseDockerRef(name), PullWith(registry, config));
  CHECK(pulled.media_type == "application/vnd.docker.distribution.manifest.v2+json");
  CheckPulledContent(*store, image);
}

TEST_CASE("a manifest without a mediaType field is typed by the registry's Content-Type") {
  RegistryServer registry;
  TempDir dir, config;
  TestImageSpec spec = SmallImageSpec("umoci style");
  spec.omit_manifest_media_type = true;
  TestImage image = BuildTestImage(spec);
  WriteOciLayout(dir / "layout", "v1", image);
  std::string name = SkopeoPush(registry, dir, "v1", false, "skopeo/untyped");
  auto store = Store::Open(dir / "store");
  Descriptor pulled = Pull(*store, Reference::ParseDockerRef(name), PullWith(registry, config));
  CHECK(pulled.media_type == "application/vnd.oci.image.manifest.v1+json");
  CheckPulledContent(*store, image);
}

TEST_CASE("an index resolves to the host's platform, and --platform picks another") {
  RegistryServer registry;
  TempDir dir, config;
  TestImageSpec amd64 = SmallImageSpec("amd64");
  TestImageSpec arm64 = SmallImageSpec("arm64");
  arm64.architecture = "arm64";
  arm64.variant = "v8";
  TestIndex index = BuildTestIndex({amd64, arm64});
  WriteOciLayout(dir / "layout", "multi", index);
  std::string name = SkopeoPush(registry, dir, "multi", true, "skopeo/multi");

  auto store = Store::Open(dir / "store");
  PullOptions options = PullWith(registry, config);
  options.platform = ParsePlatform("linux/amd64");
  Descriptor pulled = Pull(*store, Reference::ParseDockerRef(name), options);
  CHECK(pulled.digest.str() == index.images[0].manifest.digest);
  CheckPulledContent(*store, index.images[0]);

  auto other = Store::Open(dir / "other");
  options.platform = ParsePlatform("linux/arm64");
  Descriptor arm = Pull(*other, Reference::ParseDockerRef(name), options);
  CHECK(arm.digest.str() == index.images[1].manifest.digest);
  CheckPulledContent(*other, index.images[1]);

  options.platform = ParsePlatform("linux/s390x");
  CHECK_THROWS_WITH(Pull(*other, Reference::ParseDockerRef(name), options),
                    Catch::Contains("no image for linux/s390x") && Catch::Contains("linux/amd64, linux/arm64"));
}

TEST_CASE("skopeo reads what bld pushed to a TLS registry, trusting the same CA") {
  RegistryServer registry({.tls = true});
  TempDir dir, config;
  auto store = Store::Open(dir / "store");
  TestImage image = BuildTestImage(SmallImageSpec("tls"));
  std::string name = registry.host() + "/secure/app:v1";
  PutInStore(*store, name, image);
  Push(*store, Reference::ParseDockerRef(name), {OptionsFor(registry, config.path())});
  ProcessResult inspect =
      Skopeo(dir, {"inspect", "--cert-dir", registry.certs_dir() + "/" + registry.host(), "docker://" + name});
  INFO(inspect.err);
  REQUIRE(inspect.exit_code == 0);
  CHECK(json::parse(inspect.out)["Digest"] == image.manifest.digest);
}
