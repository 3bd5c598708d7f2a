// The layer pipeline through the real binary: a step's upper dir becomes its
// layer's snapshot, and a layer's compressed blob is written only for the
// image the build writes, off the critical path (builder/layer_blobs.h). The
// images are byte for byte those the eager pipeline wrote, a layer cached
// without a blob is written when an image first needs it, and pushes whole.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/busybox.h"
#include "support/process.h"
#include "support/registry_server.h"

namespace fs = std::filesystem;
using bld::testing::ProcessResult;
using bld::testing::RegistryServer;
using bld::testing::RunBld;
using bld::testing::TempDir;
using bld::testing::WriteFile;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  std::string root = dir / "store";
  std::string context = dir / "context";
  std::map<std::string, std::string> env = {{"DOCKER_CONFIG", dir / "docker"}, {"BLD_CONFIG", dir / "none.json"}};

  ProcessResult Bld(std::vector<std::string> args, const std::string& store = "") const {
    args.insert(args.begin(), {"--root", store.empty() ? root : store});
    return RunBld(args, "", env);
  }
  std::string Ok(std::vector<std::string> args, const std::string& store = "") const {
    ProcessResult r = Bld(std::move(args), store);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  }
  void ImportBusybox() {
    bld::testing::MakeBusyboxTar(dir / "busybox.tar");
    Ok({"import", dir / "busybox.tar", "busybox"});
  }
  bool HasBlob(const std::string& digest) const { return fs::exists(root + "/blobs/sha256/" + digest.substr(7)); }
  json Config(const std::string& image) const {
    std::string id = json::parse(Ok({"inspect", image}))[0]["Id"];
    return json::parse(bld::testing::ReadFile(root + "/blobs/sha256/" + id.substr(7)));
  }
};

// Two stages: `base` is only copied from by `other`, and is the base of
// `final` (the default target).
constexpr const char* kTwoUses =
    "FROM busybox AS base\n"
    "RUN echo made-in-base > /base.txt\n"
    "FROM busybox AS other\n"
    "COPY --from=base /base.txt /copied.txt\n"
    "FROM base AS final\n"
    "RUN cat /base.txt > /final.txt\n";

// "CACHED" or "DONE": how the step whose header names `instruction` ended,
// in --progress plain output.
std::string StepEnd(const std::string& err, const std::string& instruction) {
  size_t header = err.find(instruction);
  REQUIRE(header != std::string::npos);
  size_t line = err.rfind('\n', header) + 1;
  std::string id = err.substr(line, err.find(' ', line) - line);  // "#N"
  if (err.find(id + " CACHED\n", header) != std::string::npos) return "CACHED";
  if (err.find(id + " DONE", header) != std::string::npos) return "DONE";
  return "neither";
}

// The gzip layer blobs in the store that hold a file named `name`.
int BlobsHolding(const std::string& root, const std::string& name) {
  int found = 0;
  for (const auto& entry : fs::directory_iterator(root + "/blobs/sha256")) {
    ProcessResult list = bld::testing::RunProcess({"tar", "-tzf", entry.path().string()});
    if (list.exit_code == 0 && list.out.find(name + "\n") != std::string::npos) ++found;
  }
  return found;
}

}  // namespace

TEST_CASE("a build from scratch with SOURCE_DATE_EPOCH=0 gives the image ID and manifest the eager pipeline gave") {
  Fixture f;
  // Digests written by bld before the layer pipeline (commit 7b500f8) for
  // this exact context: the promoted snapshot and the lazily written blob
  // must give the same bytes.
  WriteFile(f.context + "/Dockerfile",
            "FROM scratch\nCOPY a.txt /a.txt\nCOPY dir/ /d/\nENV PATH=/\nCMD [\"/a.txt\"]\n");
  WriteFile(f.context + "/a.txt", "alpha\n");
  WriteFile(f.context + "/dir/b.txt", "beta\n");
  REQUIRE(::chmod((f.context + "/a.txt").c_str(), 0644) == 0);
  REQUIRE(::chmod((f.context + "/dir/b.txt").c_str(), 0644) == 0);
  REQUIRE(::chmod((f.context + "/dir").c_str(), 0755) == 0);
  std::string id = f.Ok({"build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=0", "-t", "golden", f.context});
  CHECK(id == "sha256:a70424ff9e682ad0fea68628f5b642fbb9d40ee0fea62603ec687ab8b3fc1145\n");
  // The build left its layers lazy; the save writes their blobs and the
  // manifest that names them, the eager pipeline's manifest.
  json lazy = json::parse(f.Ok({"inspect", "golden"}));
  CHECK(lazy[0]["Id"] == id.substr(0, id.size() - 1));
  f.Ok({"save", "-o", f.dir / "golden.tar", "golden"});
  json inspect = json::parse(f.Ok({"inspect", "golden"}));
  CHECK(inspect[0]["Id"] == id.substr(0, id.size() - 1));
  CHECK(inspect[0]["RepoDigests"][0] ==
        "golden@sha256:8cd7f6339a17738b4e40576ae00de12106e3fa712c4d12c678b491c92701d04e");
}

TEST_CASE("the layers of a stage that is only copied from get no blob, and stay cached after prune") {
  Fixture f;
  f.ImportBusybox();
  WriteFile(f.context + "/Dockerfile", kTwoUses);
  f.Ok({"build", "-q", "--target", "other", "-t", "other", f.context});
  // The build wrote no layer blob; a save writes those of the image alone.
  CHECK(BlobsHolding(f.root, "./copied.txt") + BlobsHolding(f.root, "copied.txt") == 0);
  f.Ok({"save", "-o", f.dir / "other.tar", "other"});
  CHECK(BlobsHolding(f.root, "./base.txt") + BlobsHolding(f.root, "base.txt") == 0);
  CHECK(BlobsHolding(f.root, "./copied.txt") + BlobsHolding(f.root, "copied.txt") == 1);

  f.Ok({"prune"});
  ProcessResult again = f.Bld({"build", "--progress", "plain", "--target", "other", f.context});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(StepEnd(again.err, "RUN echo made-in-base > /base.txt") == "CACHED");
  CHECK(StepEnd(again.err, "COPY --from=base /base.txt /copied.txt") == "CACHED");
  ProcessResult check = f.Bld({"check"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
}

TEST_CASE("an image made of layers cached without blobs gets compressed blobs, pushes whole, and pulls into snapshots") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox();
  WriteFile(f.context + "/Dockerfile", kTwoUses);
  f.Ok({"build", "-q", "--target", "other", f.context});
  size_t base_layers = f.Config("busybox")["rootfs"]["diff_ids"].size();

  // `final` is FROM base: base's RUN is a cache hit whose layer has no blob.
  std::string name = registry.host() + "/pipeline/final:v1";
  ProcessResult build = f.Bld({"build", "--progress", "plain", "-t", name, f.context});
  INFO(build.err);
  REQUIRE(build.exit_code == 0);
  CHECK(StepEnd(build.err, "RUN echo made-in-base > /base.txt") == "CACHED");
  CHECK(StepEnd(build.err, "RUN cat /base.txt > /final.txt") == "DONE");

  f.Ok({"push", name});
  std::string repo_digest = json::parse(f.Ok({"inspect", name}))[0]["RepoDigests"][0];
  std::string manifest_digest = repo_digest.substr(repo_digest.find('@') + 1);
  json manifest = json::parse(bld::testing::ReadFile(f.root + "/blobs/sha256/" + manifest_digest.substr(7)));
  REQUIRE(manifest["layers"].size() == base_layers + 2);
  for (const json& layer : manifest["layers"]) {
    CHECK(layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip");
    CHECK(f.HasBlob(layer["digest"]));
  }

  // A fresh store pulls it and runs it: every blob arrived and matches.
  TempDir other;
  std::string other_root = other / "store";
  f.Ok({"pull", name}, other_root);
  // The pull unpacked every layer into its snapshot as it came.
  size_t snapshots = 0;
  for (const auto& entry : fs::directory_iterator(other_root + "/snapshots")) {
    CHECK(entry.path().filename().string().size() == 64);  // a chain ID, no unfinished unpack
    ++snapshots;
  }
  CHECK(snapshots == manifest["layers"].size());
  std::string out = f.Ok({"run", "--rm", "--net", "none", name, "cat", "/final.txt"}, other_root);
  CHECK(out == "made-in-base\n");
  ProcessResult check = f.Bld({"check"}, other_root);
  CHECK(check.exit_code == 0);
}
