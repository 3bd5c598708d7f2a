// File steps through the runner's container entry point: the plan runs in
// a container of its own on the bare image root, its changes become the
// layer, and descriptors the plan names reach it.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "runner/file_step.h"
#include "runner/snapshotter.h"
#include "runner/system_call.h"
#include "runner_test_support.h"

namespace bld::testing {
namespace {

runner::FileOp File(const std::string& dest, const std::string& content, mode_t mode = 0644) {
  runner::FileOp op;
  op.type = runner::FileOp::Type::kFile;
  op.dest = dest;
  op.content = content;
  op.mode = mode;
  return op;
}

// `path` as the image made of `layers` shows it, read through their
// snapshots (a step's layer has no blob, only its snapshot).
std::string ReadInLayers(store::Store& store, const std::vector<runner::LayerRef>& layers, const std::string& path) {
  for (const std::string& dir : runner::Snapshotter(store).Prepare(layers))  // top layer first
    if (std::filesystem::exists(dir + "/" + path)) return ReadFile(dir + "/" + path);
  FAIL("no layer holds " << path);
  return "";
}

}  // namespace

TEST_CASE("a file step writes its plan into a layer of exactly those entries") {
  RunnerFixture fixture;
  runner::FilePlan plan;
  plan.ops.push_back(File("/app/hello.txt", "hello\n"));
  std::optional<store::LayerInfo> layer = runner::RunFileStep(fixture.store(), {fixture.base()}, plan, {});
  REQUIRE(layer);
  CHECK(LayerEntryNames(fixture.store(), WriteLayerBlob(fixture.store(), {fixture.base()}, *layer)) ==
        std::set<std::string>{"app", "app/hello.txt"});
  CHECK(ReadInLayers(fixture.store(), {fixture.base(), {layer->diff_id, layer->digest}}, "app/hello.txt") ==
        "hello\n");
}

TEST_CASE("a file step writes through the image's root, not the runner's mounts") {
  RunnerFixture fixture;
  // /dev and /etc/hosts are mounted over in a RUN container; a COPY there
  // must land in the image.
  runner::FilePlan plan;
  plan.ops.push_back(File("/dev/made-by-copy", "x"));
  plan.ops.push_back(File("/etc/hosts", "10.0.0.1 copied\n"));
  std::optional<store::LayerInfo> layer = runner::RunFileStep(fixture.store(), {fixture.base()}, plan, {});
  REQUIRE(layer);
  std::set<std::string> names =
      LayerEntryNames(fixture.store(), WriteLayerBlob(fixture.store(), {fixture.base()}, *layer));
  CHECK(names.count("dev/made-by-copy"));
  CHECK(names.count("etc/hosts"));
}

TEST_CASE("a file step on an empty image (FROM scratch) works") {
  RunnerFixture fixture;
  runner::FilePlan plan;
  plan.ops.push_back(File("/bin/tool", "#!/bin/true\n", 0755));
  std::optional<store::LayerInfo> layer = runner::RunFileStep(fixture.store(), {}, plan, {});
  REQUIRE(layer);
  CHECK(LayerEntryNames(fixture.store(), WriteLayerBlob(fixture.store(), {}, *layer)) ==
        std::set<std::string>{"bin", "bin/tool"});
}

TEST_CASE("a file step reads a source from a descriptor the caller holds") {
  RunnerFixture fixture;
  runner::UniqueFd download(static_cast<int>(::memfd_create("download", MFD_CLOEXEC)));
  REQUIRE(download);
  runner::WriteAll(download.get(), "downloaded bytes\n", "fill the memfd");
  runner::FileOp op;
  op.type = runner::FileOp::Type::kFile;
  op.dest = "/fetched";
  op.source_fd = download.get();
  runner::FilePlan plan;
  plan.ops.push_back(op);
  std::optional<store::LayerInfo> layer = runner::RunFileStep(fixture.store(), {fixture.base()}, plan, {});
  REQUIRE(layer);
  CHECK(ReadInLayers(fixture.store(), {fixture.base(), {layer->diff_id, layer->digest}}, "fetched") ==
        "downloaded bytes\n");
}

TEST_CASE("a file step copies from another image with COPY --from's rules") {
  RunnerFixture fixture;
  runner::FilePlan make;
  make.ops.push_back(File("/out/bin/app", "binary", 0755));
  std::optional<store::LayerInfo> built = runner::RunFileStep(fixture.store(), {fixture.base()}, make, {});
  REQUIRE(built);
  runner::FileOp copy;
  copy.type = runner::FileOp::Type::kFromImage;
  copy.source_path = "/out/bin/app";
  copy.dest = "/usr/local/bin/app";
  runner::FilePlan plan;
  plan.ops.push_back(copy);
  plan.source_layers = {fixture.base(), {built->diff_id, built->digest}};
  std::optional<store::LayerInfo> layer = runner::RunFileStep(fixture.store(), {fixture.base()}, plan, {});
  REQUIRE(layer);
  CHECK(ReadInLayers(fixture.store(), {fixture.base(), {layer->diff_id, layer->digest}}, "usr/local/bin/app") ==
        "binary");
}

TEST_CASE("a file step that fails names what failed and leaves no container behind") {
  RunnerFixture fixture;
  runner::FilePlan plan;
  // /bin/busybox is a file: nothing can be created below it.
  plan.ops.push_back(File("/bin/busybox/inside", "x"));
  CHECK_THROWS_WITH(runner::RunFileStep(fixture.store(), {fixture.base()}, plan, {}),
                    Catch::Contains("/bin/busybox") && Catch::Contains("a file of another type is there"));
  CHECK(std::filesystem::is_empty(fixture.store().containers_dir()));
}

}  // namespace bld::testing
