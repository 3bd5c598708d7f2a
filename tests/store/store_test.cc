#include "store/store.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/error.h"
#include "store/image.h"
#include "store/layer_writer.h"

namespace fs = std::filesystem;
namespace media_type = bld::store::media_type;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::ImageIndex;
using bld::store::ImageManifest;
using bld::store::MetaStore;
using bld::store::Platform;
using bld::store::Sha256;
using bld::store::Store;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/bld-store-test-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string root() const { return path_ + "/root"; }

 private:
  std::string path_;
};

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

Descriptor PutBlob(Store& store, std::string_view media_type, const std::string& content) {
  bld::store::BlobInfo info = store.blobs().Put(content);
  return Descriptor{std::string(media_type), info.digest, static_cast<int64_t>(info.size), {}, {}, {}};
}

Descriptor Describe(std::string_view media_type, const std::string& content) {
  return Descriptor{std::string(media_type), Sha256::Of(content), static_cast<int64_t>(content.size()), {}, {}, {}};
}

std::string ManifestJson(const Descriptor& config, const std::vector<Descriptor>& layers) {
  return Serialize(ImageManifest{std::string(media_type::kOciManifest), config, layers, {}});
}

// An image whose config and layers are all in the store.
Descriptor PutImage(Store& store, const std::string& tag) {
  Descriptor config = PutBlob(store, media_type::kOciConfig, "{\"config of\":\"" + tag + "\"}");
  Descriptor layer1 = PutBlob(store, media_type::kOciLayerGzip, "layer 1 of " + tag);
  Descriptor layer2 = PutBlob(store, media_type::kOciLayerGzip, "layer 2 of " + tag);
  return PutBlob(store, media_type::kOciManifest, ManifestJson(config, {layer1, layer2}));
}

}  // namespace

TEST_CASE("the root comes from --root, then BLD_ROOT, then /var/lib/bld") {
  {
    ScopedEnv env("BLD_ROOT", "/srv/bld-env");
    CHECK(Store::ResolveRoot("/srv/bld-flag") == "/srv/bld-flag");
    CHECK(Store::ResolveRoot("") == "/srv/bld-env");
  }
  {
    ScopedEnv env("BLD_ROOT", "");
    CHECK(Store::ResolveRoot("") == "/var/lib/bld");
  }
  {
    ScopedEnv env("BLD_ROOT", nullptr);
    CHECK(Store::ResolveRoot("") == "/var/lib/bld");
  }
}

TEST_CASE("a relative root is made absolute and normalized") {
  CHECK(Store::ResolveRoot("store/./x/") == (fs::current_path() / "store/x").string());
  CHECK(Store::ResolveRoot("/srv//bld/") == "/srv/bld");
}

TEST_CASE("Open creates the store layout with a private root") {
  TempDir dir;
  std::string root = dir.path() + "/deep/er/root";
  auto store = Store::Open(root);
  for (const char* sub : {"blobs/sha256", "ingest", "meta", "snapshots", "containers", "volumes"})
    CHECK(fs::is_directory(root + "/" + sub));
  struct stat st;
  REQUIRE(::stat(root.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(store->root() == root);
  CHECK(store->snapshots_dir() == root + "/snapshots");
}

TEST_CASE("a root that is not a directory is an error naming it") {
  TempDir dir;
  std::string root = dir.path() + "/file";
  std::ofstream(root) << "x";
  CHECK_THROWS_WITH(Store::Open(root), Catch::Contains(root) && Catch::Contains("not a directory"));
}

TEST_CASE("a ref is written when every blob its manifest reaches is present") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor manifest = PutImage(*store, "v1");
  store->PutRef("docker.io/library/app:v1", manifest);
  CHECK(store->GetRef("docker.io/library/app:v1") == manifest);
  CHECK_FALSE(store->GetRef("docker.io/library/app:v2").has_value());
}

TEST_CASE("writing a ref, blob record or diffID record that is already there commits nothing") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor manifest = PutImage(*store, "v1");
  store->PutRef("docker.io/library/app:v1", manifest);
  store->RecordBlob(manifest);
  Digest diff_id = Sha256::Of("a layer");
  store->RecordDiffId(diff_id, manifest.digest);
  auto modified = [&] {
    struct stat st {};
    REQUIRE(stat((dir.root() + "/meta/data.mdb").c_str(), &st) == 0);
    return std::pair(st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  };
  auto before = modified();
  store->PutRef("docker.io/library/app:v1", manifest);
  store->RecordBlob(manifest);
  store->RecordDiffId(diff_id, manifest.digest);
  CHECK(modified() == before);
  // A changed record is still written.
  store->PutRef("docker.io/library/app:v2", manifest);
  CHECK(modified() != before);
  CHECK(store->GetRef("docker.io/library/app:v2") == manifest);
}

TEST_CASE("a ref whose manifest misses a layer is refused and not written") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor config = PutBlob(*store, media_type::kOciConfig, "{}");
  Descriptor present = PutBlob(*store, media_type::kOciLayerGzip, "present layer");
  Descriptor missing = Describe(media_type::kOciLayerGzip, "layer still downloading");
  Descriptor manifest = PutBlob(*store, media_type::kOciManifest, ManifestJson(config, {present, missing}));

  CHECK_THROWS_WITH(store->PutRef("app:v1", manifest),
                    Catch::Contains("app:v1") && Catch::Contains(missing.digest.str()) &&
                        Catch::Contains("not in the store"));
  CHECK_FALSE(store->GetRef("app:v1").has_value());
}

TEST_CASE("a ref whose manifest misses its config is refused") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor config = Describe(media_type::kOciConfig, "{\"not\":\"stored\"}");
  Descriptor manifest = PutBlob(*store, media_type::kOciManifest, ManifestJson(config, {}));
  CHECK_THROWS_WITH(store->PutRef("app:v1", manifest), Catch::Contains(config.digest.str()));
  CHECK(store->ListRefs().empty());
}

TEST_CASE("a ref to a manifest that is not in the store is refused") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor manifest = Describe(media_type::kOciManifest, "{}");
  CHECK_THROWS_WITH(store->PutRef("app:v1", manifest),
                    Catch::Contains("image manifest " + manifest.digest.str()) && Catch::Contains("not in the store"));
  CHECK(store->ListRefs().empty());
}

TEST_CASE("a ref to an index is refused while one platform's image is incomplete") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor amd64 = PutImage(*store, "amd64");
  amd64.platform = Platform{"amd64", "linux", "", ""};
  Descriptor arm64 = Describe(media_type::kOciManifest, "{\"arm64 manifest\":\"not pulled\"}");
  arm64.platform = Platform{"arm64", "linux", "", "v8"};
  std::string index_json = Serialize(ImageIndex{std::string(media_type::kOciIndex), {amd64, arm64}, {}});
  Descriptor index = PutBlob(*store, media_type::kOciIndex, index_json);

  CHECK_THROWS_WITH(store->PutRef("app:multi", index), Catch::Contains(arm64.digest.str()));
  CHECK_FALSE(store->GetRef("app:multi").has_value());
}

TEST_CASE("a ref whose blob size differs from its descriptor is refused") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor config = PutBlob(*store, media_type::kOciConfig, "{}");
  Descriptor layer = PutBlob(*store, media_type::kOciLayerGzip, "twelve bytes");
  layer.size = 13;
  Descriptor manifest = PutBlob(*store, media_type::kOciManifest, ManifestJson(config, {layer}));
  CHECK_THROWS_WITH(store->PutRef("app:v1", manifest), Catch::Contains("12 bytes") && Catch::Contains("13"));
  CHECK_FALSE(store->GetRef("app:v1").has_value());
}

TEST_CASE("a ref must point at a manifest or an index") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor layer = PutBlob(*store, media_type::kOciLayerGzip, "a layer");
  CHECK_THROWS_WITH(store->PutRef("app:v1", layer), Catch::Contains("not an image manifest or index"));
}

TEST_CASE("the closure of an index lists every manifest, config and layer once") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor shared = PutBlob(*store, media_type::kOciLayerGzip, "shared base layer");
  Descriptor config_a = PutBlob(*store, media_type::kOciConfig, "{\"a\":1}");
  Descriptor config_b = PutBlob(*store, media_type::kOciConfig, "{\"b\":1}");
  Descriptor top_b = PutBlob(*store, media_type::kOciLayerGzip, "layer only in b");
  Descriptor manifest_a = PutBlob(*store, media_type::kOciManifest, ManifestJson(config_a, {shared}));
  Descriptor manifest_b = PutBlob(*store, media_type::kOciManifest, ManifestJson(config_b, {shared, top_b}));
  Descriptor index = PutBlob(*store, media_type::kOciIndex,
                             Serialize(ImageIndex{std::string(media_type::kOciIndex), {manifest_a, manifest_b}, {}}));

  std::vector<Digest> digests;
  for (const Descriptor& d : store->Closure(index)) digests.push_back(d.digest);
  CHECK(digests == std::vector<Digest>{index.digest, manifest_a.digest, config_a.digest, shared.digest,
                                       manifest_b.digest, config_b.digest, top_b.digest});
}

TEST_CASE("refs are listed by name and deleted without touching blobs") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor v1 = PutImage(*store, "v1");
  Descriptor v2 = PutImage(*store, "v2");
  store->PutRef("app:v1", v1);
  store->PutRef("app:v2", v2);
  store->PutRef("app:latest", v2);
  auto refs = store->ListRefs();
  CHECK(refs.size() == 3);
  CHECK(refs.at("app:latest") == v2);

  CHECK(store->DeleteRef("app:v1"));
  CHECK_FALSE(store->DeleteRef("app:v1"));
  CHECK_FALSE(store->GetRef("app:v1").has_value());
  CHECK(store->blobs().Exists(v1.digest));
}

TEST_CASE("diffID records map a layer to its blobs and each blob to its layer") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Digest diff_id = Sha256::Of("uncompressed tar");
  Digest gzip = Sha256::Of("gzip blob");
  Digest zstd = Sha256::Of("zstd blob");
  store->RecordDiffId(diff_id, gzip);
  store->RecordDiffId(diff_id, zstd);
  store->RecordDiffId(Sha256::Of("another tar"), Sha256::Of("another blob"));

  std::vector<Digest> expected{gzip, zstd};
  std::sort(expected.begin(), expected.end());
  CHECK(store->BlobsWithDiffId(diff_id) == expected);
  CHECK(store->DiffIdOf(zstd) == diff_id);
  CHECK_FALSE(store->DiffIdOf(diff_id).has_value());
}

TEST_CASE("a blob record keeps the media type and size a blob arrived with") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  Descriptor layer = PutBlob(*store, media_type::kDockerLayerGzip, "layer");
  store->RecordBlob(layer);
  CHECK(store->BlobRecord(layer.digest) == layer);
  CHECK_FALSE(store->BlobRecord(Sha256::Of("unknown")).has_value());
}

TEST_CASE("two processes writing blobs and refs to one store at the same time both succeed") {
  TempDir dir;
  constexpr int kImagesPerProcess = 20;
  // A tiny map makes both processes grow it while the other writes.
  Store::Options options{MetaStore::Options{64 * 1024}};
  auto work = [&](const std::string& who) {
    auto store = Store::Open(dir.root(), options);
    for (int i = 0; i < kImagesPerProcess; ++i) {
      std::string tag = who + "-" + std::to_string(i);
      // A layer both processes write, as two builds from one base would.
      PutBlob(*store, media_type::kOciLayerGzip, "common base layer " + std::to_string(i));
      Descriptor manifest = PutImage(*store, tag);
      store->PutRef("app:" + tag, manifest);
      store->meta().Write([&](bld::store::WriteTxn& txn) {
        txn.Put(bld::store::Table::kCache, "key-" + tag, std::string(3000, 'c'));
      });
    }
  };
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 1;
    try {
      work("child");
      code = 0;
    } catch (...) {
    }
    ::_exit(code);
  }
  bool parent_ok = true;
  try {
    work("parent");
  } catch (const std::exception& e) {
    parent_ok = false;
    FAIL_CHECK(e.what());
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(parent_ok);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  auto store = Store::Open(dir.root());
  auto refs = store->ListRefs();
  CHECK(refs.size() == 2 * kImagesPerProcess);
  for (const auto& [name, manifest] : refs) {
    for (const Descriptor& d : store->Closure(manifest)) CHECK(store->blobs().Verify(d.digest));
  }
  for (const std::string who : {"parent", "child"}) {
    for (int i = 0; i < kImagesPerProcess; ++i) {
      std::string tag = who + "-" + std::to_string(i);
      CHECK(refs.count("app:" + tag) == 1);
      CHECK(store->meta().Read([&](bld::store::ReadTxn& txn) {
        return txn.Get(bld::store::Table::kCache, "key-" + tag);
      }) == std::string(3000, 'c'));
    }
  }
  CHECK(fs::is_empty(dir.root() + "/ingest"));
}

TEST_CASE("StoreLayer records a layer blob and its diffID; a layer that is not the expected one is not stored") {
  TempDir dir;
  auto store = Store::Open(dir.root());
  fs::create_directories(dir.path() + "/tree");
  std::ofstream(dir.path() + "/tree/hello") << "hello\n";
  auto write = [&](const bld::store::ByteSink& sink) {
    return bld::store::WriteLayerFromDirectory(dir.path() + "/tree", {}, sink);
  };

  bld::store::LayerInfo layer = bld::store::StoreLayer(*store, write);
  CHECK(store->blobs().Exists(layer.digest));
  CHECK(store->DiffIdOf(layer.digest) == layer.diff_id);

  std::ofstream(dir.path() + "/tree/hello") << "changed\n";
  CHECK_THROWS_WITH(bld::store::StoreLayer(*store, write, layer.diff_id),
                    Catch::Contains("not " + layer.diff_id.str() + " as recorded"));
  CHECK(store->BlobsWithDiffId(layer.diff_id) == std::vector<Digest>{layer.digest});
  CHECK(fs::is_empty(dir.root() + "/ingest"));
}
