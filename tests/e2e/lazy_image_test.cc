// Lazy images through the real binary: `bld build` leaves the layers it made
// as snapshots named lazily in the image's manifest (store/lazy_layer.h), and
// the first push or save writes their blobs as the build asked, giving the
// manifest an eager build gives (builder/lazy_images.h). Pushed images are
// checked with skopeo and pulled back into fresh stores.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
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

constexpr const char* kLazy = "dev.bld.lazy";

struct Fixture {
  TempDir dir;
  std::string root = dir / "store";
  std::string context = dir / "context";
  std::string other_root = dir / "other-store";  // a second machine's store
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
  ProcessResult Skopeo(std::vector<std::string> args) const {
    return bld::testing::RunSkopeo(dir, std::move(args));
  }
  // The same base in every store of a test: one tar, times clamped.
  void ImportBusybox(const std::string& store = "") {
    if (!fs::exists(dir / "busybox.tar")) bld::testing::MakeBusyboxTar(dir / "busybox.tar");
    std::map<std::string, std::string> clamped = env;
    clamped["SOURCE_DATE_EPOCH"] = "0";
    ProcessResult r = RunBld({"--root", store.empty() ? root : store, "import", dir / "busybox.tar", "busybox"}, "",
                             clamped);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  std::string Id(const std::string& name, const std::string& store = "") const {
    return json::parse(Ok({"inspect", name}, store))[0]["Id"];
  }
  // The manifest `name` points at in the store, and its digest.
  std::string ManifestDigest(const std::string& name, const std::string& store = "") const {
    std::string out = Ok({"images", "--digests", "--no-trunc", name}, store);
    size_t at = out.find("sha256:");
    REQUIRE(at != std::string::npos);
    return out.substr(at, 71);
  }
  json Manifest(const std::string& name, const std::string& store = "") const {
    std::string digest = ManifestDigest(name, store);
    return json::parse(bld::testing::ReadFile((store.empty() ? root : store) + "/blobs/sha256/" + digest.substr(7)));
  }
  bool HasBlob(const std::string& digest, const std::string& store = "") const {
    return fs::exists((store.empty() ? root : store) + "/blobs/sha256/" + digest.substr(7));
  }
  int LazyLayers(const std::string& name, const std::string& store = "") const {
    int lazy = 0;
    json manifest = Manifest(name, store);
    INFO(manifest.dump(2));
    for (const json& layer : manifest["layers"])
      if (layer.contains("annotations") && layer["annotations"].contains(kLazy)) {
        CHECK_FALSE(HasBlob(layer["digest"], store));
        ++lazy;
      }
    return lazy;
  }
  void CheckStore(const std::string& store = "") const {
    ProcessResult check = Bld({"check"}, store);
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);
  }
  json RegistryManifest(const std::string& name) const {
    ProcessResult r = Skopeo({"inspect", "--tls-verify=false", "--raw", "docker://" + name});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
  }
};

}  // namespace

TEST_CASE("a built image's new layers stay snapshots until a push writes their blobs; the image ID never changes") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox();
  WriteFile(f.context + "/Dockerfile", "FROM busybox\nRUN echo lazy > /lazy.txt\nCOPY a.txt /a.txt\n");
  WriteFile(f.context + "/a.txt", "alpha\n");
  std::string name = registry.host() + "/lazy/app:v1";
  std::string id = f.Ok({"build", "-q", "-t", name, f.context});
  id.pop_back();

  // Both new layers are named by their diffIDs and have no blob; the image
  // runs from their snapshots, and check and prune accept it.
  CHECK(f.LazyLayers(name) == 2);
  f.CheckStore();
  f.Ok({"prune"});
  CHECK(f.Ok({"run", "--rm", "--net", "none", name, "cat", "/lazy.txt", "/a.txt"}) == "lazy\nalpha\n");

  std::string pushed = f.Ok({"push", name});
  CHECK(f.Id(name) == id);
  CHECK(f.LazyLayers(name) == 0);
  CHECK_THAT(pushed, Catch::Contains("v1: digest: " + f.ManifestDigest(name)));
  for (const json& layer : f.Manifest(name)["layers"]) {
    CHECK(layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip");
    CHECK(f.HasBlob(layer["digest"]));
    CHECK_FALSE(layer.contains("annotations"));
  }
  CHECK(f.RegistryManifest(name) == f.Manifest(name));
  f.CheckStore();

  // A fresh store pulls it and runs it.
  f.Ok({"pull", name}, f.other_root);
  CHECK(f.Id(name, f.other_root) == id);
  CHECK(f.Ok({"run", "--rm", "--net", "none", name, "cat", "/lazy.txt"}, f.other_root) == "lazy\n");
}

TEST_CASE("a lazy image is pushed as the build asked: zstd, or Docker schema 2") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox();
  WriteFile(f.context + "/Dockerfile", "FROM busybox\nRUN echo lazy > /lazy.txt\n");

  std::string zstd = registry.host() + "/lazy/zstd:v1";
  f.Ok({"build", "-q", "--compression", "zstd", "-t", zstd, f.context});
  CHECK(f.LazyLayers(zstd) == 1);
  f.Ok({"push", zstd});
  json manifest = f.RegistryManifest(zstd);
  CHECK(manifest["layers"].back()["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd");

  std::string docker = registry.host() + "/lazy/docker:v1";
  f.Ok({"build", "-q", "--no-cache", "--format", "docker", "-t", docker, f.context});
  CHECK(f.LazyLayers(docker) == 1);
  f.Ok({"push", docker});
  manifest = f.RegistryManifest(docker);
  CHECK(manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json");
  for (const json& layer : manifest["layers"])
    CHECK(layer["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip");
  f.CheckStore();
}

TEST_CASE("with SOURCE_DATE_EPOCH a lazily pushed image is byte for byte the one bld build --push pushes") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox();
  WriteFile(f.context + "/Dockerfile", "FROM busybox\nRUN echo same > /same.txt && touch /same.txt\n");
  std::string lazy = registry.host() + "/same/lazy:v1";
  std::string lazy_id = f.Ok({"build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=10", "-t", lazy, f.context});
  CHECK(f.LazyLayers(lazy) == 1);
  f.Ok({"push", lazy});

  // Another store, its blobs written by the build itself (--push).
  f.ImportBusybox(f.other_root);
  std::string eager = registry.host() + "/same/eager:v1";
  std::string eager_id = f.Ok(
      {"build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=10", "--push", "-t", eager, f.context}, f.other_root);
  CHECK(f.LazyLayers(eager, f.other_root) == 0);
  CHECK(eager_id == lazy_id);
  CHECK(f.RegistryManifest(lazy) == f.RegistryManifest(eager));
}

TEST_CASE("an image built FROM a lazy image with another SOURCE_DATE_EPOCH writes each layer with its own clamp") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox();
  WriteFile(f.context + "/base/Dockerfile", "FROM busybox\nRUN echo base > /base.txt\n");
  WriteFile(f.context + "/child/Dockerfile", "FROM lazybase\nRUN echo child > /child.txt\n");
  f.Ok({"build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=100", "-t", "lazybase", f.context + "/base"});
  std::string child = registry.host() + "/clamp/child:v1";
  f.Ok({"build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=200", "-t", child, f.context + "/child"});
  CHECK(f.LazyLayers(child) == 2);
  f.Ok({"push", child});
  json child_manifest = f.RegistryManifest(child);

  // The base's own push gives its RUN layer the same blob.
  std::string base = registry.host() + "/clamp/base:v1";
  f.Ok({"tag", "lazybase", base});
  f.Ok({"push", base});
  json base_manifest = f.RegistryManifest(base);
  size_t n = base_manifest["layers"].size();
  CHECK(child_manifest["layers"][n - 1]["digest"] == base_manifest["layers"][n - 1]["digest"]);

  f.Ok({"pull", child}, f.other_root);
  CHECK(f.Ok({"run", "--rm", "--net", "none", child, "cat", "/base.txt", "/child.txt"}, f.other_root) ==
        "base\nchild\n");
  f.CheckStore(f.other_root);
}

TEST_CASE("a container of a lazy image commits to an image that pushes whole") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox();
  WriteFile(f.context + "/Dockerfile", "FROM busybox\nRUN echo lazy > /lazy.txt\n");
  f.Ok({"build", "-q", "-t", "lazyapp", f.context});
  f.Ok({"run", "--name", "worker", "--net", "none", "lazyapp", "sh", "-c", "echo changed > /changed.txt"});
  std::string committed = registry.host() + "/commit/app:v1";
  f.Ok({"commit", "worker", committed});
  CHECK(f.LazyLayers(committed) == 1);  // the build's layer; the commit's own has its blob
  f.CheckStore();
  f.Ok({"push", committed});
  CHECK(f.LazyLayers(committed) == 0);

  f.Ok({"pull", committed}, f.other_root);
  CHECK(f.Ok({"run", "--rm", "--net", "none", committed, "cat", "/lazy.txt", "/changed.txt"}, f.other_root) ==
        "lazy\nchanged\n");
}

TEST_CASE("an untagged lazy image saved by ID keeps one untagged name, now for its completed manifest") {
  Fixture f;
  f.ImportBusybox();
  WriteFile(f.context + "/Dockerfile", "FROM busybox\nRUN echo nameless > /n.txt\n");
  std::string id = f.Ok({"build", "-q", f.context});
  id.pop_back();
  f.Ok({"save", "-o", f.dir / "nameless.tar", id.substr(7, 12)});
  std::string images = f.Ok({"images", "--no-trunc"});
  CHECK(std::count(images.begin(), images.end(), '\n') == 3);  // header, busybox, the <none> image
  CHECK_THAT(images, Catch::Contains(id));
  f.CheckStore();

  // The archive loads into a fresh store and runs.
  std::string loaded = f.Ok({"load", "-i", f.dir / "nameless.tar"}, f.other_root);
  CHECK_THAT(loaded, Catch::Contains(id));
  CHECK(f.Ok({"run", "--rm", "--net", "none", id.substr(7, 12), "cat", "/n.txt"}, f.other_root) == "nameless\n");
}

TEST_CASE("check reports a lazy layer whose snapshot is gone, naming the layer") {
  Fixture f;
  f.ImportBusybox();
  WriteFile(f.context + "/Dockerfile", "FROM busybox\nRUN echo gone > /gone.txt\n");
  f.Ok({"build", "-q", "-t", "fragile", f.context});
  json layers = f.Manifest("fragile")["layers"];
  std::string lazy = layers.back()["digest"];
  REQUIRE(layers.back()["annotations"].contains(kLazy));
  // Remove every snapshot: the layer has no blob to come back from.
  for (const auto& entry : fs::directory_iterator(f.root + "/snapshots")) fs::remove_all(entry.path());
  ProcessResult check = f.Bld({"check"});
  CHECK(check.exit_code != 0);
  CHECK_THAT(check.out + check.err, Catch::Contains(lazy) && Catch::Contains("snapshot"));
  ProcessResult save = f.Bld({"save", "-o", f.dir / "fragile.tar", "fragile"});
  CHECK(save.exit_code != 0);
  CHECK_THAT(save.err, Catch::Contains(lazy));
}
