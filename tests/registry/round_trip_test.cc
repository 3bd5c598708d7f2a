// Push and pull against a real registry (Debian's docker-registry) in each of
// its setups: plain HTTP, Basic auth, token auth and TLS.
#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <mutex>

#include "registry/credentials.h"
#include "registry/puller.h"
#include "registry/pusher.h"
#include "registry/registry_error.h"
#include "store/error.h"
#include "support/process.h"
#include "support/registry_server.h"
#include "support/registry_store_images.h"

using bld::registry::Credentials;
using bld::registry::DockerConfig;
using bld::registry::Pull;
using bld::registry::PullOptions;
using bld::registry::Push;
using bld::registry::PushOptions;
using bld::registry::Reference;
using bld::registry::RegistryError;
using bld::registry::TransferEvent;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::Store;
using bld::testing::BuildTestImage;
using bld::testing::OptionsFor;
using bld::testing::PutInStore;
using bld::testing::RandomBytes;
using bld::testing::RegistryServer;
using bld::testing::RegistryServerOptions;
using bld::testing::SmallImageSpec;
using bld::testing::StoreIsClean;
using bld::testing::TempDir;
using bld::testing::TestImage;
using bld::testing::TestImageSpec;
using Auth = RegistryServerOptions::Auth;

namespace {

// Events by kind, for checking what a transfer reported.
struct EventLog {
  std::vector<TransferEvent> events;
  bld::registry::TransferEvents callback() {
    return [this](const TransferEvent& e) { events.push_back(e); };
  }
  int Count(TransferEvent::Kind kind) const {
    return static_cast<int>(std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.kind == kind; }));
  }
};

// The content of `image` is in `store`, byte for byte, with its diffIDs.
void CheckHasImage(const Store& store, const TestImage& image) {
  CHECK(store.blobs().ReadAll(Digest::Parse(image.manifest.digest), 1 << 20) == image.manifest.data);
  CHECK(store.blobs().ReadAll(Digest::Parse(image.config.digest), 1 << 20) == image.config.data);
  for (size_t i = 0; i < image.layers.size(); ++i) {
    Digest layer = Digest::Parse(image.layers[i].digest);
    CHECK(store.blobs().Size(layer) == image.layers[i].data.size());
    CHECK(store.blobs().Verify(layer));
    CHECK(store.DiffIdOf(layer) == Digest::Parse(image.diff_ids[i]));
  }
}

struct Client {
  explicit Client(const RegistryServer& server) : options(OptionsFor(server, docker_config.path())) {
    if (server.options().auth != Auth::kNone)
      DockerConfig(docker_config.path()).Store(server.host(), {server.options().username, server.options().password, ""});
  }
  std::unique_ptr<Store> NewStore() { return Store::Open(dir / ("store" + std::to_string(stores++))); }
  PushOptions push() const { return {options}; }
  PullOptions pull() const {
    PullOptions p;
    p.registry = options;
    return p;
  }

  TempDir dir;
  TempDir docker_config;
  bld::registry::RegistryOptions options;
  int stores = 0;
};

void RoundTrip(const RegistryServerOptions& setup) {
  RegistryServer registry(setup);
  Client client(registry);
  auto source = client.NewStore();
  TestImage image = BuildTestImage(SmallImageSpec("round trip"));
  std::string name = registry.host() + "/team/app:v1";
  PutInStore(*source, name, image);
  Reference ref = Reference::ParseDockerRef(name);

  EventLog pushed_events;
  auto pushed = Push(*source, ref, client.push(), pushed_events.callback());
  CHECK(pushed.manifest.digest.str() == image.manifest.digest);
  CHECK(pushed.tag == "v1");
  CHECK(pushed_events.Count(TransferEvent::Kind::kDone) == 2);

  auto target = client.NewStore();
  EventLog pulled_events;
  Descriptor pulled = Pull(*target, ref, client.pull(), pulled_events.callback());
  CHECK(pulled.digest.str() == image.manifest.digest);
  CHECK(pulled.media_type == image.manifest.media_type);
  CHECK(target->GetRef(name) == pulled);
  CheckHasImage(*target, image);
  CHECK(StoreIsClean(*target));
  REQUIRE(pulled_events.Count(TransferEvent::Kind::kResolved) == 1);
  CHECK(pulled_events.events.front().digest.str() == image.manifest.digest);
  CHECK(pulled_events.Count(TransferEvent::Kind::kDone) == 2);
}

}  // namespace

TEST_CASE("push and pull round trip against a plain HTTP registry") { RoundTrip({}); }

TEST_CASE("push and pull round trip against a registry with Basic auth") { RoundTrip({.auth = Auth::kBasic}); }

TEST_CASE("push and pull round trip against a registry with token auth") { RoundTrip({.auth = Auth::kToken}); }

TEST_CASE("push and pull round trip against a TLS registry whose CA is in certs.d") { RoundTrip({.tls = true}); }

TEST_CASE("a TLS registry whose CA is not trusted is refused, with where to put the CA") {
  RegistryServer registry({.tls = true});
  Client client(registry);
  client.options.hosts->certs_dirs.clear();
  auto store = client.NewStore();
  CHECK_THROWS_WITH(Pull(*store, Reference::ParseDockerRef(registry.host() + "/team/app:v1"), client.pull()),
                    Catch::Contains("cannot reach the registry " + registry.host()) &&
                        Catch::Contains("certs.d/" + registry.host() + "/ca.crt"));
}

TEST_CASE("relative upload locations are followed, and a large blob goes in chunks") {
  RegistryServer registry({.relative_urls = true});
  Client client(registry);
  auto source = client.NewStore();
  TestImageSpec spec;
  spec.gzip = false;
  spec.layers = {{{"big.bin", RandomBytes(3 << 20, 11)}}};
  TestImage image = BuildTestImage(spec);
  std::string name = registry.host() + "/chunks/app:v1";
  PutInStore(*source, name, image);
  PushOptions options = client.push();
  options.monolithic_limit = 1 << 20;
  options.chunk_size = 512 << 10;
  EventLog events;
  Push(*source, Reference::ParseDockerRef(name), options, events.callback());
  CHECK(events.Count(TransferEvent::Kind::kDone) == 1);
  auto target = client.NewStore();
  Pull(*target, Reference::ParseDockerRef(name), client.pull());
  CheckHasImage(*target, image);
}

TEST_CASE("blobs the registry has are not uploaded again") {
  RegistryServer registry;
  Client client(registry);
  auto store = client.NewStore();
  TestImage image = BuildTestImage(SmallImageSpec());
  std::string name = registry.host() + "/team/app:v1";
  PutInStore(*store, name, image);
  Push(*store, Reference::ParseDockerRef(name), client.push());
  EventLog again;
  Push(*store, Reference::ParseDockerRef(name), client.push(), again.callback());
  CHECK(again.Count(TransferEvent::Kind::kExists) == 2);
  CHECK(again.Count(TransferEvent::Kind::kDone) == 0);
}

TEST_CASE("a blob known in another repository of the registry is mounted, not uploaded") {
  RegistryServer registry({.auth = Auth::kToken});
  Client client(registry);
  auto store = client.NewStore();
  TestImage image = BuildTestImage(SmallImageSpec("mount"));
  std::string first = registry.host() + "/team/base:v1";
  std::string second = registry.host() + "/team/other:v1";
  Descriptor root = PutInStore(*store, first, image);
  Push(*store, Reference::ParseDockerRef(first), client.push());
  store->PutRef(second, root);
  EventLog events;
  Push(*store, Reference::ParseDockerRef(second), client.push(), events.callback());
  CHECK(events.Count(TransferEvent::Kind::kMounted) == 2);
  CHECK(events.Count(TransferEvent::Kind::kDone) == 0);
  for (const TransferEvent& e : events.events)
    if (e.kind == TransferEvent::Kind::kMounted) CHECK(e.detail == "team/base");
  auto target = client.NewStore();
  Pull(*target, Reference::ParseDockerRef(second), client.pull());
  CheckHasImage(*target, image);
}

TEST_CASE("a pull fetches only the layers the store lacks") {
  RegistryServer registry;
  Client client(registry);
  auto source = client.NewStore();
  TestImage image = BuildTestImage(SmallImageSpec("partial"));
  std::string name = registry.host() + "/team/app:v1";
  PutInStore(*source, name, image);
  Push(*source, Reference::ParseDockerRef(name), client.push());
  auto target = client.NewStore();
  target->blobs().Put(image.layers[0].data);
  EventLog events;
  Pull(*target, Reference::ParseDockerRef(name), client.pull(), events.callback());
  CHECK(events.Count(TransferEvent::Kind::kExists) == 1);
  CHECK(events.Count(TransferEvent::Kind::kDone) == 1);
  CheckHasImage(*target, image);
}

TEST_CASE("a pull by digest is pinned to that content and named by it") {
  RegistryServer registry;
  Client client(registry);
  auto source = client.NewStore();
  TestImage image = BuildTestImage(SmallImageSpec("pinned"));
  PutInStore(*source, registry.host() + "/team/app:v1", image);
  Push(*source, Reference::ParseDockerRef(registry.host() + "/team/app:v1"), client.push());
  auto target = client.NewStore();
  std::string pinned = registry.host() + "/team/app@" + image.manifest.digest;
  Descriptor pulled = Pull(*target, Reference::ParseDockerRef(pinned), client.pull());
  CHECK(pulled.digest.str() == image.manifest.digest);
  CHECK(target->GetRef(pinned));
}

TEST_CASE("pulling a tag the registry lacks names the registry, repository, status and code") {
  RegistryServer registry;
  Client client(registry);
  auto store = client.NewStore();
  try {
    Pull(*store, Reference::ParseDockerRef(registry.host() + "/team/none:v9"), client.pull());
    FAIL("pulled");
  } catch (const RegistryError& e) {
    CHECK(e.status() == 404);
    CHECK_THAT(e.what(), Catch::Contains(registry.host() + " answered 404 Not Found for repository team/none") &&
                             Catch::Contains("UNKNOWN"));
  }
  CHECK(store->ListRefs().empty());
}

TEST_CASE("pushing without credentials to a registry that wants them says how to log in") {
  RegistryServer registry({.auth = Auth::kBasic});
  TempDir no_credentials;
  Client client(registry);
  client.options.docker_config_dir = no_credentials.path();
  auto store = client.NewStore();
  std::string name = registry.host() + "/team/app:v1";
  PutInStore(*store, name, BuildTestImage(SmallImageSpec()));
  try {
    Push(*store, Reference::ParseDockerRef(name), client.push());
    FAIL("pushed");
  } catch (const RegistryError& e) {
    CHECK(e.status() == 401);
    CHECK_THAT(e.what(), Catch::Contains("401 Unauthorized for repository team/app") &&
                             Catch::EndsWith("to log in, run: bld login " + registry.host()));
  }
}

TEST_CASE("pushing an image the store does not have says so") {
  RegistryServer registry;
  Client client(registry);
  auto store = client.NewStore();
  CHECK_THROWS_WITH(Push(*store, Reference::ParseDockerRef(registry.host() + "/team/ghost:v1"), client.push()),
                    Catch::Contains("no image") && Catch::Contains("ghost:v1"));
}

namespace {

// Unpacks into directories of a test's own, recording what was committed.
struct RecordingUnpacks : bld::store::LayerUnpackTarget {
  struct Unpack : bld::store::LayerUnpack {
    Unpack(RecordingUnpacks& owner, std::string dir, size_t index) : owner(owner), path(std::move(dir)), index(index) {
      std::filesystem::create_directories(path);
    }
    const std::string& dir() const override { return path; }
    void Commit() override {
      std::lock_guard lock(owner.mu);
      owner.committed.push_back(index);
    }
    RecordingUnpacks& owner;
    std::string path;
    size_t index;
  };
  std::unique_ptr<bld::store::LayerUnpack> Begin(const std::vector<Digest>&, size_t index) override {
    std::lock_guard lock(mu);
    if (index == skip) return nullptr;
    return std::make_unique<Unpack>(*this, dir / ("layer" + std::to_string(index) + "-" + std::to_string(begun++)),
                                    index);
  }
  TempDir dir;
  std::mutex mu;
  std::vector<size_t> committed;
  int begun = 0;
  size_t skip = SIZE_MAX;  // a layer already unpacked
};

}  // namespace

TEST_CASE("a pull with an unpack target applies each layer it downloads, from the same stream, and commits it") {
  RegistryServer registry;
  Client client(registry);
  auto source = client.NewStore();
  TestImage image = BuildTestImage(SmallImageSpec("unpacked"));
  REQUIRE(image.layers.size() >= 2);
  std::string name = registry.host() + "/team/app:v1";
  PutInStore(*source, name, image);
  Push(*source, Reference::ParseDockerRef(name), client.push());

  auto target = client.NewStore();
  RecordingUnpacks unpacks;
  unpacks.skip = 0;
  PullOptions options = client.pull();
  options.unpack = &unpacks;
  Pull(*target, Reference::ParseDockerRef(name), options);
  CheckHasImage(*target, image);
  std::vector<size_t> committed = unpacks.committed;
  std::sort(committed.begin(), committed.end());
  std::vector<size_t> expected;
  for (size_t i = 1; i < image.layers.size(); ++i) expected.push_back(i);
  CHECK(committed == expected);
  // What the layer holds is in its directory.
  std::string unpacked;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(unpacks.dir.path()))
    if (entry.path().filename() == "hello.txt") unpacked = bld::testing::ReadFile(entry.path());
  CHECK(unpacked == "hello from a test image unpacked\n");
}
