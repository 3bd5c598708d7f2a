// The end of a build: the target's state as an image, named by its tags.
#include <catch2/catch.hpp>

#include "builder/image_writer.h"
#include "store/image.h"
#include "support/process.h"

using namespace bld;
using bld::testing::TempDir;

namespace {

builder::ImageState StateWithHistory(const std::string& created) {
  builder::ImageState state;
  store::HistoryEntry entry;
  entry.created = created;
  entry.created_by = "CMD [\"app\"]";
  entry.empty_layer = true;
  state.config.history.push_back(entry);
  state.config.config.cmd = {"app"};
  return state;
}

}  // namespace

TEST_CASE("a built image carries the labels, the platform and the last step's time") {
  TempDir root;
  auto store = store::Store::Open(root.path());
  builder::ImageWriteOptions o;
  o.tags = {"app:v1"};
  o.labels = {{"org.example", "yes"}};
  o.platform = {"arm64", "linux", "", ""};
  o.created_fallback = "2000-01-01T00:00:00Z";
  builder::WrittenImage w = builder::WriteBuiltImage(*store, StateWithHistory("2020-02-02T00:00:00Z"), o);
  std::optional<store::Descriptor> ref = store->GetRef("docker.io/library/app:v1");
  REQUIRE(ref);
  CHECK(*ref == w.manifest);
  store::Image image = store::ReadImage(*store, w.manifest);
  CHECK(image.config.config.labels.at("org.example") == "yes");
  CHECK(image.config.architecture == "arm64");
  CHECK(image.config.created == "2020-02-02T00:00:00Z");
  CHECK(image.id() == w.image_id);
}

TEST_CASE("an image built without a name gets an untagged ref, so that prune keeps it") {
  TempDir root;
  auto store = store::Store::Open(root.path());
  builder::ImageWriteOptions o;
  o.platform = store::HostPlatform();
  o.created_fallback = "2000-01-01T00:00:00Z";
  builder::WrittenImage w = builder::WriteBuiltImage(*store, builder::ImageState{}, o);
  CHECK(store->GetRef(store::UntaggedRefName(w.manifest.digest)) == w.manifest);
  CHECK(store::ReadImage(*store, w.manifest).config.created == "2000-01-01T00:00:00Z");
}

TEST_CASE("the same state written twice is the same image") {
  TempDir root;
  auto store = store::Store::Open(root.path());
  builder::ImageWriteOptions o;
  o.tags = {"x"};
  o.platform = store::HostPlatform();
  auto a = builder::WriteBuiltImage(*store, StateWithHistory("2020-02-02T00:00:00Z"), o);
  auto b = builder::WriteBuiltImage(*store, StateWithHistory("2020-02-02T00:00:00Z"), o);
  CHECK(a.image_id == b.image_id);
  CHECK(a.manifest == b.manifest);
}
