// Pulls and pushes through a proxy that drops connections, answers 503,
// corrupts or cuts blobs and corrupts uploads: transfers resume or retry,
// and nothing unverified is stored.
#include <catch2/catch.hpp>

#include "registry/puller.h"
#include "registry/pusher.h"
#include "store/error.h"
#include "support/process.h"
#include "support/registry_fault_proxy.h"
#include "support/registry_server.h"
#include "support/registry_store_images.h"

using bld::registry::Pull;
using bld::registry::PullOptions;
using bld::registry::Push;
using bld::registry::PushOptions;
using bld::registry::Reference;
using bld::registry::TransferEvent;
using bld::store::Digest;
using bld::store::Store;
using bld::testing::BuildTestImage;
using bld::testing::FaultProxy;
using bld::testing::OptionsFor;
using bld::testing::PutInStore;
using bld::testing::RandomBytes;
using bld::testing::RegistryServer;
using bld::testing::SmallImageSpec;
using bld::testing::StoreIsClean;
using bld::testing::TempDir;
using bld::testing::TestImage;
using bld::testing::TestImageSpec;

namespace {

constexpr size_t kMiB = 1 << 20;

TestImage OneLayerImage(size_t size, uint64_t seed) {
  TestImageSpec spec;
  spec.gzip = false;  // random bytes do not compress; spare the CPU
  spec.layers = {{{"blob.bin", RandomBytes(size, seed)}}};
  return BuildTestImage(spec);
}

std::vector<std::string> RetryMessages(const std::vector<TransferEvent>& events) {
  std::vector<std::string> out;
  for (const TransferEvent& e : events)
    if (e.kind == TransferEvent::Kind::kRetrying) out.push_back(e.detail);
  return out;
}

struct Setup {
  RegistryServer registry;
  TempDir dir, config;
  std::unique_ptr<Store> source = Store::Open(dir / "source");
  std::unique_ptr<Store> target = Store::Open(dir / "target");
  std::vector<TransferEvent> events;

  bld::registry::TransferEvents Record() {
    return [this](const TransferEvent& e) { events.push_back(e); };
  }
  PullOptions Pulling() {
    PullOptions p;
    p.registry = OptionsFor(registry, config.path());
    return p;
  }
  PushOptions Pushing() { return {OptionsFor(registry, config.path())}; }
  // The image stored under the registry's name and under the proxy's.
  void Put(const TestImage& image, const FaultProxy& proxy, const std::string& path) {
    PutInStore(*source, registry.host() + "/" + path, image);
    PutInStore(*source, proxy.host() + "/" + path, image);
  }
};

}  // namespace

TEST_CASE("an upload cut midway resumes from what the registry has instead of starting over") {
  Setup s;
  // Like nginx in front of a registry: a request whose client went away
  // never reaches the registry, which keeps every chunk before it.
  FaultProxy proxy(s.registry.port(), {.drop_request_after = 40 * kMiB, .buffer_request_bodies = true});
  TestImage image = OneLayerImage(64 * kMiB, 1);
  s.Put(image, proxy, "big/app:v1");
  Push(*s.source, Reference::ParseDockerRef(proxy.host() + "/big/app:v1"), s.Pushing(), s.Record());
  CHECK(proxy.dropped_connections() == 1);
  CHECK(proxy.request_body_bytes() < 64 * kMiB * 3 / 2);
  auto retries = RetryMessages(s.events);
  REQUIRE(retries.size() == 1);
  CHECK_THAT(retries[0], Catch::Contains("the registry has 33554432 bytes, going on from there"));
  Pull(*s.target, Reference::ParseDockerRef(s.registry.host() + "/big/app:v1"), s.Pulling());
  CHECK(s.target->blobs().Verify(Digest::Parse(image.layers[0].digest)));
}

TEST_CASE("an upload the registry dropped after a partial chunk is started again and completes") {
  Setup s;
  // distribution cancels an upload whose chunk arrived in part: the pusher
  // must notice and start a new one.
  FaultProxy proxy(s.registry.port(), {.drop_request_after = 40 * kMiB});
  TestImage image = OneLayerImage(64 * kMiB, 2);
  s.Put(image, proxy, "big/app:v1");
  Push(*s.source, Reference::ParseDockerRef(proxy.host() + "/big/app:v1"), s.Pushing(), s.Record());
  auto retries = RetryMessages(s.events);
  REQUIRE(retries.size() == 1);
  CHECK_THAT(retries[0], Catch::Contains("uploading again"));
  Pull(*s.target, Reference::ParseDockerRef(s.registry.host() + "/big/app:v1"), s.Pulling());
  CHECK(s.target->blobs().Verify(Digest::Parse(image.layers[0].digest)));
}

TEST_CASE("a monolithic upload cut midway is sent again") {
  Setup s;
  FaultProxy proxy(s.registry.port(), {.drop_request_after = 2 * kMiB, .buffer_request_bodies = true});
  TestImage image = OneLayerImage(4 * kMiB, 3);
  s.Put(image, proxy, "small/app:v1");
  Push(*s.source, Reference::ParseDockerRef(proxy.host() + "/small/app:v1"), s.Pushing(), s.Record());
  CHECK(proxy.dropped_connections() == 1);
  Pull(*s.target, Reference::ParseDockerRef(s.registry.host() + "/small/app:v1"), s.Pulling());
  CHECK(s.target->blobs().Verify(Digest::Parse(image.layers[0].digest)));
}

TEST_CASE("a download cut midway resumes with a Range request") {
  Setup s;
  FaultProxy proxy(s.registry.port(), {.drop_response_after = 8 * kMiB});
  TestImage image = OneLayerImage(20 * kMiB, 4);
  PutInStore(*s.source, s.registry.host() + "/dl/app:v1", image);
  Push(*s.source, Reference::ParseDockerRef(s.registry.host() + "/dl/app:v1"), s.Pushing());
  Pull(*s.target, Reference::ParseDockerRef(proxy.host() + "/dl/app:v1"), s.Pulling(), s.Record());
  CHECK(proxy.dropped_connections() == 1);
  CHECK(proxy.blob_response_bytes() < 20 * kMiB * 3 / 2);
  auto retries = RetryMessages(s.events);
  REQUIRE(retries.size() == 1);
  CHECK_THAT(retries[0], Catch::Contains("resuming at byte"));
  CHECK(s.target->blobs().Verify(Digest::Parse(image.layers[0].digest)));
  CHECK(StoreIsClean(*s.target));
}

TEST_CASE("503 answers are retried through a push and a pull") {
  Setup s;
  FaultProxy proxy(s.registry.port(), {.fail_first_requests = 3});
  TestImage image = BuildTestImage(SmallImageSpec("503"));
  s.Put(image, proxy, "flaky/app:v1");
  Push(*s.source, Reference::ParseDockerRef(proxy.host() + "/flaky/app:v1"), s.Pushing());
  Pull(*s.target, Reference::ParseDockerRef(proxy.host() + "/flaky/app:v1"), s.Pulling());
  CHECK(proxy.failed_requests() == 3);
  CHECK(s.target->GetRef(proxy.host() + "/flaky/app:v1"));
}

TEST_CASE("a corrupted layer is refused and the pull stores nothing") {
  Setup s;
  FaultProxy proxy(s.registry.port(), {.corrupt_blobs = true, .corrupt_min_size = 64 * 1024});
  TestImageSpec spec = SmallImageSpec("corrupt");
  spec.layers.push_back({{"big.bin", RandomBytes(kMiB, 5)}});
  TestImage image = BuildTestImage(spec);
  PutInStore(*s.source, s.registry.host() + "/bad/app:v1", image);
  Push(*s.source, Reference::ParseDockerRef(s.registry.host() + "/bad/app:v1"), s.Pushing());
  CHECK_THROWS_WITH(Pull(*s.target, Reference::ParseDockerRef(proxy.host() + "/bad/app:v1"), s.Pulling()),
                    Catch::Contains("layer " + image.layers[2].digest) && Catch::Contains("refusing it after 5 tries"));
  CHECK(s.target->ListRefs().empty());
  CHECK_FALSE(s.target->blobs().Exists(Digest::Parse(image.layers[2].digest)));
  CHECK_FALSE(s.target->blobs().Exists(Digest::Parse(image.manifest.digest)));
  CHECK(StoreIsClean(*s.target));
}

TEST_CASE("a corrupted config is refused and the pull stores nothing") {
  Setup s;
  FaultProxy proxy(s.registry.port(), {.corrupt_blobs = true});
  TestImage image = BuildTestImage(SmallImageSpec("corrupt config"));
  PutInStore(*s.source, s.registry.host() + "/bad/config:v1", image);
  Push(*s.source, Reference::ParseDockerRef(s.registry.host() + "/bad/config:v1"), s.Pushing());
  CHECK_THROWS_WITH(Pull(*s.target, Reference::ParseDockerRef(proxy.host() + "/bad/config:v1"), s.Pulling()),
                    Catch::Contains("config " + image.config.digest) && Catch::Contains("after 5 tries"));
  CHECK(s.target->ListRefs().empty());
  CHECK(s.target->blobs().List().empty());
  CHECK(StoreIsClean(*s.target));
}

namespace {

// An image pushed to the registry directly, to be pulled through `proxy`.
TestImage PushedImage(Setup& s, const std::string& path) {
  TestImageSpec spec = SmallImageSpec(path);
  spec.layers.push_back({{"big.bin", RandomBytes(kMiB, 6)}});
  TestImage image = BuildTestImage(spec);
  PutInStore(*s.source, s.registry.host() + "/" + path, image);
  Push(*s.source, Reference::ParseDockerRef(s.registry.host() + "/" + path), s.Pushing());
  return image;
}

}  // namespace

TEST_CASE("a layer corrupted in its first answer is fetched again and the pull succeeds") {
  Setup s;
  FaultProxy proxy(s.registry.port(), {.corrupt_min_size = 64 * 1024, .corrupt_first_blobs = 1});
  TestImage image = PushedImage(s, "retry/corrupt:v1");
  Pull(*s.target, Reference::ParseDockerRef(proxy.host() + "/retry/corrupt:v1"), s.Pulling(), s.Record());
  CHECK(proxy.damaged_blobs() >= 1);
  auto retries = RetryMessages(s.events);
  REQUIRE(retries.size() == 1);
  CHECK_THAT(retries[0], Catch::Contains("is not the blob asked for") &&
                             Catch::Contains("fetching it again (try 2 of 5)"));
  CHECK(s.target->blobs().Verify(Digest::Parse(image.layers[2].digest)));
  CHECK(s.target->GetRef(proxy.host() + "/retry/corrupt:v1"));
  CHECK(StoreIsClean(*s.target));
}

TEST_CASE("a layer whose first answer is complete but short is fetched again and the pull succeeds") {
  Setup s;
  FaultProxy proxy(s.registry.port(), {.corrupt_min_size = 64 * 1024, .truncate_first_blobs = 1});
  TestImage image = PushedImage(s, "retry/short:v1");
  Pull(*s.target, Reference::ParseDockerRef(proxy.host() + "/retry/short:v1"), s.Pulling(), s.Record());
  CHECK(proxy.damaged_blobs() >= 1);
  auto retries = RetryMessages(s.events);
  REQUIRE(retries.size() == 1);
  CHECK_THAT(retries[0], Catch::Contains("came short") && Catch::Contains("fetching it again (try 2 of 5)"));
  CHECK(s.target->blobs().Verify(Digest::Parse(image.layers[2].digest)));
  CHECK(StoreIsClean(*s.target));
}

TEST_CASE("a config corrupted in its first answer is fetched again and the pull succeeds") {
  Setup s;
  // The config is the first blob a pull asks for.
  FaultProxy proxy(s.registry.port(), {.corrupt_first_blobs = 1});
  TestImage image = PushedImage(s, "retry/config:v1");
  Pull(*s.target, Reference::ParseDockerRef(proxy.host() + "/retry/config:v1"), s.Pulling());
  CHECK(proxy.damaged_blobs() >= 1);
  CHECK(s.target->blobs().Verify(Digest::Parse(image.config.digest)));
  CHECK(s.target->GetRef(proxy.host() + "/retry/config:v1"));
  CHECK(StoreIsClean(*s.target));
}

TEST_CASE("an upload the registry refuses as DIGEST_INVALID is sent again from the start and the push succeeds") {
  Setup s;
  FaultProxy proxy(s.registry.port(), {.corrupt_first_uploads = 1});
  TestImage image = OneLayerImage(2 * kMiB, 7);
  s.Put(image, proxy, "retry/upload:v1");
  Push(*s.source, Reference::ParseDockerRef(proxy.host() + "/retry/upload:v1"), s.Pushing(), s.Record());
  auto retries = RetryMessages(s.events);
  REQUIRE(retries.size() == 1);
  CHECK_THAT(retries[0], Catch::Contains("DIGEST_INVALID") && Catch::Contains("uploading again from the start"));
  Pull(*s.target, Reference::ParseDockerRef(s.registry.host() + "/retry/upload:v1"), s.Pulling());
  CHECK(s.target->blobs().Verify(Digest::Parse(image.layers[0].digest)));
}

TEST_CASE("an upload refused as DIGEST_INVALID twice fails, saying how many uploads were tried") {
  Setup s;
  FaultProxy proxy(s.registry.port(), {.corrupt_first_uploads = 100});
  TestImage image = OneLayerImage(2 * kMiB, 8);
  s.Put(image, proxy, "retry/bad:v1");
  CHECK_THROWS_WITH(Push(*s.source, Reference::ParseDockerRef(proxy.host() + "/retry/bad:v1"), s.Pushing()),
                    Catch::Contains("DIGEST_INVALID") && Catch::Contains("refused after 2 uploads from the start"));
}
