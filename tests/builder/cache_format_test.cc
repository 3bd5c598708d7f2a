// The exported build cache: the records document round-trips, the manifest
// lists each layer once, mode=min keeps the final image's steps, and an
// import answers after the local cache and fetches a layer only when a step
// needs it.
#include <catch2/catch.hpp>

#include "builder/cache_export.h"
#include "builder/cache_format.h"
#include "builder/cache_import.h"
#include "builder_fakes.h"
#include "store/error.h"
#include "support/process.h"

using namespace bld;
using bld::builder::CacheRecords;
using bld::builder::ImageState;

namespace {

store::Digest D(char c) { return store::Digest::FromHex(std::string(64, c)); }

store::Descriptor Layer(char c, int64_t size = 10) {
  return {std::string(store::media_type::kOciLayerGzip), D(c), size, {}, {}, std::nullopt};
}

// An image state of `layers` blobs (diff IDs: the next letters), one
// history entry per layer, as steps make them.
ImageState State(const std::string& layers) {
  ImageState s;
  s.config.architecture = "amd64";
  s.config.os = "linux";
  for (char c : layers) {
    s.layers.push_back(Layer(c));
    s.config.rootfs.diff_ids.push_back(D(static_cast<char>(c + 1)));
    store::HistoryEntry h;
    h.created_by = std::string("RUN make ") + c;
    s.config.history.push_back(h);
  }
  return s;
}

// An import whose layers are counted instead of fetched.
class FakeSource : public builder::CacheSource {
 public:
  explicit FakeSource(CacheRecords records) { records_ = std::move(records); }
  std::string Name() const override { return "fake"; }
  std::string Repository() const override { return "reg/cache"; }
  void FetchLayers(const std::vector<store::Descriptor>& layers, const std::vector<store::Digest>&) override {
    for (const store::Descriptor& l : layers) fetched.push_back(l.digest);
    ++calls;
  }
  std::vector<store::Digest> fetched;
  int calls = 0;
};

// An ImportedCache over an empty local cache (`local`) and one FakeSource
// with `records`, on a fresh store.
struct ImportFixture {
  explicit ImportFixture(CacheRecords records) {
    auto source = std::make_unique<FakeSource>(std::move(records));
    fake = source.get();
    std::vector<std::unique_ptr<builder::CacheSource>> sources;
    sources.push_back(std::move(source));
    cache = std::make_unique<builder::ImportedCache>(*store, local, std::move(sources));
  }
  bld::testing::TempDir root;
  std::unique_ptr<store::Store> store = store::Store::Open(root.path());
  testing::FakeCache local;
  FakeSource* fake = nullptr;
  std::unique_ptr<builder::ImportedCache> cache;
};

}  // namespace

TEST_CASE("cache records round-trip through their document") {
  CacheRecords records{{"k1", State("a")}, {"k2", State("ac")}};
  records["k2"].config.config.env = {"PATH=/bin"};
  CacheRecords back = builder::ParseCacheRecords(builder::SerializeCacheRecords(records), "test");
  REQUIRE(back.size() == 2);
  CHECK(back["k1"].layers == records["k1"].layers);
  CHECK(back["k2"].config == records["k2"].config);
  CHECK(back["k2"].layers == records["k2"].layers);
}

TEST_CASE("a cache records document of another version or with inconsistent records is refused") {
  CHECK_THROWS_WITH(builder::ParseCacheRecords(R"({"version":2,"records":{}})", "c"),
                    "c: build cache version 2, this bld reads version 1");
  CHECK_THROWS_WITH(builder::ParseCacheRecords(R"({"records":{}})", "c"), "c: not a bld build cache (no version)");
  ImageState bad = State("ab");
  bad.config.rootfs.diff_ids.pop_back();
  CHECK_THROWS_WITH(builder::ParseCacheRecords(builder::SerializeCacheRecords({{"k", bad}}), "c"),
                    "c: record k has 2 layers but 1 diff IDs");
}

TEST_CASE("the cache manifest lists each layer of the records once") {
  store::Descriptor config{std::string(builder::kCacheConfigMediaType), D('f'), 5, {}, {}, std::nullopt};
  store::ImageManifest m = builder::CacheManifest(config, {{"k1", State("a")}, {"k2", State("ab")}, {"k3", State("ac")}});
  CHECK(m.config == config);
  REQUIRE(m.layers.size() == 3);
  CHECK(m.layers[0].digest == D('a'));
  CHECK(m.layers[1].digest == D('b'));
  CHECK(m.layers[2].digest == D('c'));
}

TEST_CASE("mode=min keeps the records whose image begins the final image, mode=max all") {
  CacheRecords all{{"final-1", State("a")}, {"final-2", State("ab")}, {"builder", State("a1")}};
  ImageState image = State("abc");
  CacheRecords min = builder::SelectRecords(all, {image}, builder::CacheMode::kMin);
  CHECK(min.size() == 2);
  CHECK(min.count("final-1"));
  CHECK(min.count("final-2"));
  CHECK(builder::SelectRecords(all, {image}, builder::CacheMode::kMax).size() == 3);
  // One final image per platform: the steps of each.
  CHECK(builder::SelectRecords(all, {image, State("a1")}, builder::CacheMode::kMin).size() == 3);
}

TEST_CASE("inline cache records name the layers of the image as written") {
  CacheRecords all{{"k1", State("a")}, {"k2", State("ab")}};
  std::vector<store::Descriptor> written = {Layer('7', 7), Layer('8', 8)};
  CacheRecords inline_records = builder::ParseCacheRecords(builder::InlineCacheRecords(all, State("ab"), written), "i");
  CHECK(inline_records["k1"].layers == std::vector<store::Descriptor>{written[0]});
  CHECK(inline_records["k2"].layers == written);
}

TEST_CASE("the cache recorder keeps what the build took and what it made") {
  testing::FakeCache local;
  local.records["hit"] = State("a");
  builder::CacheRecorder recorder(local);
  CHECK(recorder.Get("hit"));
  CHECK_FALSE(recorder.Get("miss"));
  recorder.Put("made", State("ab"));
  CacheRecords taken = recorder.Taken();
  CHECK(taken.size() == 2);
  CHECK(taken.count("hit"));
  CHECK(taken.count("made"));
  CHECK(local.records.count("made"));
}

TEST_CASE("an import answers after the local cache and fetches no layer on a hit") {
  ImportFixture f(CacheRecords{{"both", State("e")}, {"remote", State("ab")}});
  f.local.records["both"] = State("0");
  builder::ImportedCache& cache = *f.cache;
  FakeSource* fake = f.fake;
  CHECK(cache.Get("both")->layers[0].digest == D('0'));
  CHECK(cache.Get("remote")->layers.size() == 2);
  CHECK_FALSE(cache.Get("nowhere"));
  CHECK(fake->fetched.empty());
  CHECK(f.local.records.count("remote"));  // the local cache trusts it once its layers are there
  CHECK(cache.RepositoryOf(D('a')) == "reg/cache");
  CHECK(cache.RepositoryOf(D('0')).empty());

  // A step on the imported state: its layers are fetched, once asked.
  cache.EnsureLayers({{D('b'), D('a')}, {D('c'), D('b')}});
  CHECK(fake->fetched == std::vector<store::Digest>{D('a'), D('b')});
}

TEST_CASE("the imported layers of the final image are fetched together, those of no hit not at all") {
  ImportFixture f(CacheRecords{{"final", State("ab")}, {"other", State("c")}});
  builder::ImportedCache& cache = *f.cache;
  FakeSource* fake = f.fake;
  REQUIRE(cache.Get("final"));
  cache.EnsureBlobs(State("abc"));  // c: named by no hit, so no import is asked for it
  CHECK(fake->fetched == std::vector<store::Digest>{D('a'), D('b')});
  CHECK(fake->calls == 1);
}

TEST_CASE("a step on an imported state fetches the layers it runs on and reads from before it runs") {
  ImportFixture f(CacheRecords{{"image", State("ab")}, {"source", State("c")}});
  builder::ImportedCache& cache = *f.cache;
  FakeSource* fake = f.fake;
  REQUIRE(cache.Get("image"));
  REQUIRE(cache.Get("source"));
  testing::FakeRuntime inner;
  builder::CacheFetchingRuntime runtime(inner, cache);

  runner::StepSpec spec;
  spec.layers = {{D('b'), D('a')}};
  runner::StepMount mount;
  mount.tree.emplace();
  mount.tree->layers = {{D('d'), D('c')}};
  spec.mounts.push_back(mount);
  runtime.Run(spec, {});
  CHECK(fake->fetched == std::vector<store::Digest>{D('a'), D('c')});
  CHECK(inner.runs.size() == 1);

  runner::FilePlan plan;
  plan.source_layers = {{D('c'), D('b')}};
  runtime.ApplyFiles({{D('b'), D('a')}, {D('9'), D('8')}}, plan, {});  // 8: no hit named it
  CHECK(fake->fetched == std::vector<store::Digest>{D('a'), D('c'), D('b'), D('a')});
  CHECK(inner.file_steps.size() == 1);
}
