// Image archives (save and load, docker-archive and OCI layout) and rootfs
// imports, at the store level. Hostile archives are built entry by entry:
// each must be refused with a message naming what is wrong, leave the store
// consistent, without a ref, and write nothing outside the store.
#include "store/image_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "store/compression.h"
#include "store/error.h"
#include "store/image.h"
#include "store/image_import.h"
#include "store/layer_applier.h"
#include "store/store_check.h"
#include "support/busybox.h"
#include "support/process.h"
#include "support/tar_builder.h"
#include "support/test_images.h"

namespace fs = std::filesystem;
namespace media_type = bld::store::media_type;
using bld::store::ArchiveFormat;
using bld::store::ArchiveName;
using bld::store::ByteSource;
using bld::store::Compression;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::Image;
using bld::store::ImageConfig;
using bld::store::ImageIndex;
using bld::store::ImageManifest;
using bld::store::ImportOptions;
using bld::store::ImportResult;
using bld::store::LoadResult;
using bld::store::SaveRequest;
using bld::store::Sha256;
using bld::store::Store;
using bld::testing::TarBuilder;
using bld::testing::TempDir;
using nlohmann::json;

namespace {

std::map<std::string, std::string> ReadTar(const std::string& tar) {
  std::map<std::string, std::string> entries;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string content;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) content.append(buf, static_cast<size_t>(n));
    entries[archive_entry_pathname(e)] = content;
  }
  archive_read_free(a);
  return entries;
}

std::string Compress(const std::string& data, Compression compression) {
  std::string out;
  bld::store::Compressor c(compression, [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  c.Write(data.data(), data.size());
  c.Finish();
  return out;
}

ByteSource StringSource(const std::string& data) {
  auto offset = std::make_shared<size_t>(0);
  return [&data, offset](void* out, size_t size) {
    size_t n = std::min(size, data.size() - *offset);
    std::memcpy(out, data.data() + *offset, n);
    *offset += n;
    return n;
  };
}

std::string Save(const Store& store, const std::vector<SaveRequest>& requests, ArchiveFormat format) {
  std::string out;
  bld::store::SaveImages(store, requests, format,
                         [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  return out;
}

LoadResult Load(Store& store, const std::string& archive) {
  return bld::store::LoadImages(store, StringSource(archive));
}

std::string Hex(const Digest& d) { return std::string(d.hex()); }

// A small image's parts, to assemble archives from.
struct Parts {
  std::vector<std::string> layers;  // uncompressed tars
  std::vector<Digest> diff_ids;
  std::string config;
  Digest config_digest;
};

Parts MakeParts(size_t layer_count = 2) {
  Parts p;
  ImageConfig config;
  config.architecture = bld::store::HostPlatform().architecture;
  config.os = "linux";
  config.created = "2026-01-01T00:00:00Z";
  for (size_t i = 0; i < layer_count; ++i) {
    p.layers.push_back(TarBuilder().File("file" + std::to_string(i), "content " + std::to_string(i)).Finish());
    p.diff_ids.push_back(Sha256::Of(p.layers.back()));
  }
  config.rootfs.diff_ids = p.diff_ids;
  p.config = bld::store::Serialize(config);
  p.config_digest = Sha256::Of(p.config);
  return p;
}

json DockerManifest(const Parts& p, const std::vector<std::string>& layer_paths) {
  return json::array(
      {{{"Config", Hex(p.config_digest) + ".json"}, {"RepoTags", {"example:v1"}}, {"Layers", layer_paths}}});
}

// A docker-archive of `p` with layers at L<i>/layer.tar, before Finish.
TarBuilder& DockerEntries(TarBuilder& tar, const Parts& p) {
  tar.File(Hex(p.config_digest) + ".json", p.config);
  for (size_t i = 0; i < p.layers.size(); ++i) tar.File("L" + std::to_string(i) + "/layer.tar", p.layers[i]);
  return tar;
}

std::vector<std::string> DockerLayerPaths(const Parts& p) {
  std::vector<std::string> paths;
  for (size_t i = 0; i < p.layers.size(); ++i) paths.push_back("L" + std::to_string(i) + "/layer.tar");
  return paths;
}

// An OCI layout of `p` (gzip layers): its blobs by digest and index.json.
struct OciParts {
  std::map<Digest, std::string> blobs;
  Descriptor manifest;
};

OciParts MakeOci(const Parts& p) {
  OciParts o;
  ImageManifest m;
  m.media_type = std::string(media_type::kOciManifest);
  m.config = {std::string(media_type::kOciConfig), p.config_digest, static_cast<int64_t>(p.config.size()), {}, {}, {}};
  o.blobs[p.config_digest] = p.config;
  for (const std::string& layer : p.layers) {
    std::string gz = Compress(layer, Compression::kGzip);
    Digest d = Sha256::Of(gz);
    o.blobs[d] = gz;
    m.layers.push_back({std::string(media_type::kOciLayerGzip), d, static_cast<int64_t>(gz.size()), {}, {}, {}});
  }
  std::string manifest = bld::store::Serialize(m);
  o.manifest = {
      std::string(media_type::kOciManifest), Sha256::Of(manifest), static_cast<int64_t>(manifest.size()), {}, {}, {}};
  o.blobs[o.manifest.digest] = manifest;
  return o;
}

std::string IndexJson(const std::vector<Descriptor>& manifests) {
  ImageIndex index;
  index.media_type = std::string(media_type::kOciIndex);
  index.manifests = manifests;
  return bld::store::Serialize(index);
}

TarBuilder& OciEntries(TarBuilder& tar, const OciParts& o, bool with_index = true) {
  tar.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  for (const auto& [digest, content] : o.blobs) tar.File("blobs/sha256/" + Hex(digest), content);
  if (with_index) tar.File("index.json", IndexJson({o.manifest}));
  return tar;
}

// Every path under `dir` but those under `except`.
std::set<std::string> Listing(const std::string& dir, const std::string& except) {
  std::set<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string path = entry.path().string();
    if (path.starts_with(except)) continue;
    paths.insert(path);
  }
  return paths;
}

// The hostile archive is refused with `message`; the store stays consistent
// and nameless, and nothing appears outside it.
void RequireRefused(const std::string& archive, const std::string& message) {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  std::set<std::string> before = Listing(dir.path(), dir / "store");
  REQUIRE_THROWS_WITH(Load(*store, archive), Catch::Contains(message));
  CHECK(store->ListRefs().empty());
  bld::store::CheckReport report = bld::store::CheckStore(*store);
  INFO((report.problems.empty() ? "" : report.problems.front()));
  CHECK(report.problems.empty());
  CHECK(Listing(dir.path(), dir / "store") == before);
  CHECK_FALSE(fs::exists(dir / "etc"));
}

// A docker-archive of one image whose only layer is `layer`, byte for byte,
// at L0/layer.tar; the config's diffID is the layer's sha256, so only the
// layer rules can refuse it.
Parts OneLayerParts(const std::string& layer) {
  Parts p = MakeParts(0);
  ImageConfig config = bld::store::ParseImageConfig(p.config, p.config_digest);
  config.rootfs.diff_ids = {Sha256::Of(layer)};
  p.layers = {layer};
  p.diff_ids = config.rootfs.diff_ids;
  p.config = bld::store::Serialize(config);
  p.config_digest = Sha256::Of(p.config);
  return p;
}

std::string DockerArchiveWithLayer(const std::string& layer) {
  Parts p = OneLayerParts(layer);
  TarBuilder tar;
  DockerEntries(tar, p).File("manifest.json", DockerManifest(p, DockerLayerPaths(p)).dump());
  return tar.Finish();
}

// The same image as an OCI archive, its layer gzip-compressed.
std::string OciArchiveWithLayer(const std::string& layer) {
  TarBuilder tar;
  return OciEntries(tar, MakeOci(OneLayerParts(layer))).Finish();
}

// `bld import` of `tar` is refused with `message`, leaving no blob, no
// ingest file and no ref behind.
void RequireImportRefused(const std::string& tar, const std::string& message) {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  ImportOptions options;
  options.source = "rootfs.tar";
  REQUIRE_THROWS_WITH(bld::store::ImportRootfs(*store, StringSource(tar), options),
                      Catch::StartsWith("cannot import rootfs.tar: ") && Catch::Contains(message));
  CHECK(store->blobs().List().empty());
  CHECK(store->blobs().ListIngestLeftovers().empty());
  CHECK(store->ListRefs().empty());
  CHECK(bld::store::CheckStore(*store).problems.empty());
}

// A hostile layer is refused by `load` (in both archive formats, naming the
// layer and the entry) and by `import`.
void RequireLayerRefused(const std::string& layer, const std::string& message) {
  RequireRefused(DockerArchiveWithLayer(layer), "the layer \"L0/layer.tar\" is not a layer bld can use: " + message);
  RequireRefused(OciArchiveWithLayer(layer), "is not a layer bld can use: " + message);
  RequireImportRefused(layer, message);
}

struct SavedBusybox {
  TempDir dir;
  std::unique_ptr<Store> store = Store::Open(dir / "store");
  Descriptor descriptor = bld::testing::MakeBusyboxImage(*store, "busybox");
  Image image = bld::store::ReadImage(*store, descriptor);
  std::vector<SaveRequest> requests = {{descriptor, {{"docker.io/library/busybox:latest", "busybox:latest"}}}};
};

}  // namespace

// ---------------------------------------------------------------------------
// save

TEST_CASE("a saved docker-archive holds manifest.json, repositories, the config and uncompressed layers") {
  SavedBusybox s;
  std::map<std::string, std::string> entries = ReadTar(Save(*s.store, s.requests, ArchiveFormat::kDocker));
  json manifest = json::parse(entries.at("manifest.json"));
  REQUIRE(manifest.size() == 1);
  CHECK(manifest[0]["Config"] == Hex(s.image.id()) + ".json");
  CHECK(manifest[0]["RepoTags"] == json::array({"busybox:latest"}));
  std::string diff_hex = Hex(s.image.config.rootfs.diff_ids[0]);
  CHECK(manifest[0]["Layers"] == json::array({diff_hex + "/layer.tar"}));
  CHECK(json::parse(entries.at("repositories")) == json{{"busybox", {{"latest", diff_hex}}}});
  CHECK(Sha256::Of(entries.at(Hex(s.image.id()) + ".json")) == s.image.id());
  CHECK(Sha256::Of(entries.at(diff_hex + "/layer.tar")) == s.image.config.rootfs.diff_ids[0]);
}

TEST_CASE("a saved OCI archive holds every blob as stored and names images with full name and tag") {
  SavedBusybox s;
  std::map<std::string, std::string> entries = ReadTar(Save(*s.store, s.requests, ArchiveFormat::kOci));
  CHECK(json::parse(entries.at("oci-layout")) == json{{"imageLayoutVersion", "1.0.0"}});
  json index = json::parse(entries.at("index.json"));
  REQUIRE(index["manifests"].size() == 1);
  const json& m = index["manifests"][0];
  CHECK(m["digest"] == s.descriptor.digest.str());
  CHECK(m["annotations"]["io.containerd.image.name"] == "docker.io/library/busybox:latest");
  CHECK(m["annotations"]["org.opencontainers.image.ref.name"] == "latest");
  for (const Descriptor& d : s.store->Closure(s.descriptor))
    CHECK(entries.at("blobs/sha256/" + Hex(d.digest)) == s.store->blobs().ReadAll(d.digest, 64 << 20));
}

TEST_CASE("saving the same images twice gives the same bytes") {
  SavedBusybox s;
  CHECK(Save(*s.store, s.requests, ArchiveFormat::kDocker) == Save(*s.store, s.requests, ArchiveFormat::kDocker));
  CHECK(Save(*s.store, s.requests, ArchiveFormat::kOci) == Save(*s.store, s.requests, ArchiveFormat::kOci));
}

TEST_CASE("an image asked for by two names is saved once in a docker-archive, with both tags") {
  SavedBusybox s;
  s.requests.push_back({s.descriptor, {{"docker.io/library/bb:1", "bb:1"}}});
  json manifest = json::parse(ReadTar(Save(*s.store, s.requests, ArchiveFormat::kDocker)).at("manifest.json"));
  REQUIRE(manifest.size() == 1);
  CHECK(manifest[0]["RepoTags"] == json::array({"busybox:latest", "bb:1"}));
}

// ---------------------------------------------------------------------------
// load

TEST_CASE("a docker-archive loads into another store with the same image ID, layers and names") {
  SavedBusybox s;
  std::string archive = Save(*s.store, s.requests, ArchiveFormat::kDocker);
  TempDir other;
  auto store = Store::Open(other / "store");
  LoadResult r = Load(*store, archive);
  CHECK(r.format == ArchiveFormat::kDocker);
  REQUIRE(r.images.size() == 1);
  CHECK(r.images[0].names == std::vector<std::string>{"busybox:latest"});
  CHECK(r.images[0].image_id == s.image.id());
  Image loaded = bld::store::ReadImage(*store, r.images[0].descriptor);
  CHECK(loaded.id() == s.image.id());
  CHECK(loaded.config == s.image.config);
  // Uncompressed in the archive, and stored as it came.
  REQUIRE(loaded.manifest.layers.size() == 1);
  CHECK(loaded.manifest.layers[0].media_type == media_type::kOciLayer);
  CHECK(loaded.manifest.layers[0].digest == s.image.config.rootfs.diff_ids[0]);
  CHECK(store->DiffIdOf(loaded.manifest.layers[0].digest) == s.image.config.rootfs.diff_ids[0]);
  CHECK(bld::store::CheckStore(*store).problems.empty());
}

TEST_CASE("an OCI archive loads with the same manifest digest and its full name") {
  SavedBusybox s;
  std::string archive = Save(*s.store, s.requests, ArchiveFormat::kOci);
  TempDir other;
  auto store = Store::Open(other / "store");
  LoadResult r = Load(*store, archive);
  CHECK(r.format == ArchiveFormat::kOci);
  REQUIRE(r.images.size() == 1);
  CHECK(r.images[0].descriptor.digest == s.descriptor.digest);
  CHECK(r.images[0].names == std::vector<std::string>{"docker.io/library/busybox:latest"});
  CHECK(r.images[0].image_id == s.image.id());
  Digest layer = s.image.manifest.layers[0].digest;
  CHECK(store->DiffIdOf(layer) == s.image.config.rootfs.diff_ids[0]);
  CHECK(store->BlobRecord(layer)->media_type == s.image.manifest.layers[0].media_type);
  CHECK(bld::store::CheckStore(*store).problems.empty());
}

TEST_CASE("a gzip-compressed archive loads") {
  SavedBusybox s;
  std::string archive = Compress(Save(*s.store, s.requests, ArchiveFormat::kDocker), Compression::kGzip);
  TempDir other;
  auto store = Store::Open(other / "store");
  CHECK(Load(*store, archive).images.at(0).image_id == s.image.id());
}

TEST_CASE("a docker-archive with ./ names and layers reached through symlinks loads, as skopeo writes them") {
  Parts p = MakeParts();
  TarBuilder tar;
  tar.Dir("./").File("./" + Hex(p.config_digest) + ".json", p.config);
  std::vector<std::string> paths;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    std::string real = Hex(p.diff_ids[i]) + ".tar";
    tar.File("./" + real, p.layers[i]).Dir("./legacy" + std::to_string(i));
    tar.Symlink("./legacy" + std::to_string(i) + "/layer.tar", "../" + real);
    paths.push_back("legacy" + std::to_string(i) + "/layer.tar");
  }
  tar.File("./manifest.json", DockerManifest(p, paths).dump());
  TempDir dir;
  auto store = Store::Open(dir / "store");
  LoadResult r = Load(*store, tar.Finish());
  REQUIRE(r.images.size() == 1);
  CHECK(r.images[0].image_id == p.config_digest);
}

TEST_CASE("a docker-archive's gzip layers stay gzip, its plain layers stay tar") {
  Parts p = MakeParts();
  TarBuilder tar;
  tar.File(Hex(p.config_digest) + ".json", p.config);
  std::string gz = Compress(p.layers[0], Compression::kGzip);
  tar.File("a.tar.gz", gz).File("b.tar", p.layers[1]);
  tar.File("manifest.json", DockerManifest(p, {"a.tar.gz", "b.tar"}).dump());
  TempDir dir;
  auto store = Store::Open(dir / "store");
  Image image = bld::store::ReadImage(*store, Load(*store, tar.Finish()).images.at(0).descriptor);
  CHECK(image.manifest.layers[0].media_type == media_type::kOciLayerGzip);
  CHECK(image.manifest.layers[0].digest == Sha256::Of(gz));
  CHECK(image.manifest.layers[1].media_type == media_type::kOciLayer);
  CHECK(store->DiffIdOf(Sha256::Of(gz)) == p.diff_ids[0]);
}

TEST_CASE("an OCI layout without names loads untagged, and a bare ref.name is only a tag") {
  Parts p = MakeParts(1);
  OciParts o = MakeOci(p);
  Descriptor tagged = o.manifest;
  tagged.annotations["org.opencontainers.image.ref.name"] = "latest";
  TarBuilder tar;
  OciEntries(tar, o, false).File("index.json", IndexJson({tagged}));
  TempDir dir;
  auto store = Store::Open(dir / "store");
  LoadResult r = Load(*store, tar.Finish());
  REQUIRE(r.images.size() == 1);
  CHECK(r.images[0].names.empty());
  CHECK(r.images[0].image_id == p.config_digest);
}

TEST_CASE("an OCI index saved without its other platforms loads as the host's image") {
  Parts p = MakeParts(1);
  OciParts o = MakeOci(p);
  Descriptor host = o.manifest;
  host.platform = bld::store::HostPlatform();
  Descriptor elsewhere = {std::string(media_type::kOciManifest), Sha256::Of("not saved"), 9, {}, {}, {}};
  elsewhere.platform = bld::store::Platform{"riscv64", "linux", "", ""};
  ImageIndex index;
  index.media_type = std::string(media_type::kOciIndex);
  index.manifests = {elsewhere, host};
  std::string index_json = bld::store::Serialize(index);
  Descriptor top = {
      std::string(media_type::kOciIndex), Sha256::Of(index_json), static_cast<int64_t>(index_json.size()), {}, {}, {}};
  top.annotations["io.containerd.image.name"] = "docker.io/library/multi:1";
  o.blobs[top.digest] = index_json;
  TarBuilder tar;
  OciEntries(tar, o, false).File("index.json", IndexJson({top}));
  TempDir dir;
  auto store = Store::Open(dir / "store");
  LoadResult r = Load(*store, tar.Finish());
  REQUIRE(r.images.size() == 1);
  CHECK(r.images[0].descriptor.digest == o.manifest.digest);
  CHECK(r.images[0].image_id == p.config_digest);
  CHECK(r.images[0].names == std::vector<std::string>{"docker.io/library/multi:1"});
}

// ---------------------------------------------------------------------------
// hostile archives

TEST_CASE("hostile archive: a layer path climbing out of the archive is refused") {
  Parts p = MakeParts();
  TarBuilder tar;
  DockerEntries(tar, p).File("manifest.json", DockerManifest(p, {"../../etc/passwd", "L1/layer.tar"}).dump());
  RequireRefused(tar.Finish(), "\"../../etc/passwd\" points out of the archive");
}

TEST_CASE("hostile archive: an absolute layer path is refused") {
  Parts p = MakeParts();
  TarBuilder tar;
  DockerEntries(tar, p).File("manifest.json", DockerManifest(p, {"/etc/passwd", "L1/layer.tar"}).dump());
  RequireRefused(tar.Finish(), "\"/etc/passwd\" is an absolute path");
}

TEST_CASE("hostile archive: manifest.json naming a missing layer is refused") {
  Parts p = MakeParts();
  TarBuilder tar;
  DockerEntries(tar, p).File("manifest.json", DockerManifest(p, {"L0/layer.tar", "nothere/layer.tar"}).dump());
  RequireRefused(tar.Finish(), "\"nothere/layer.tar\" is not a file in the archive");
}

TEST_CASE("hostile archive: a layer that is not the one the config lists is refused") {
  Parts p = MakeParts();
  TarBuilder tar;
  DockerEntries(tar, p).File("manifest.json", DockerManifest(p, {"L1/layer.tar", "L0/layer.tar"}).dump());
  RequireRefused(tar.Finish(), "but the image config lists " + p.diff_ids[0].str());
}

TEST_CASE("hostile archive: a layer count that differs from the config's is refused") {
  Parts p = MakeParts();
  TarBuilder tar;
  DockerEntries(tar, p).File("manifest.json", DockerManifest(p, {"L0/layer.tar"}).dump());
  RequireRefused(tar.Finish(), "lists 1 layers, but its config lists 2 diffIDs");
}

TEST_CASE("hostile archive: a corrupt gzip layer is refused") {
  Parts p = MakeParts(1);
  std::string gz = Compress(p.layers[0], Compression::kGzip);
  gz[gz.size() / 2] ^= 0x55;
  TarBuilder tar;
  tar.File(Hex(p.config_digest) + ".json", p.config).File("l.tar.gz", gz);
  tar.File("manifest.json", DockerManifest(p, {"l.tar.gz"}).dump());
  RequireRefused(tar.Finish(), "\"l.tar.gz\" is not a layer bld can use: gzip");
}

TEST_CASE("hostile archive: a layer symlink pointing out of the archive is refused") {
  Parts p = MakeParts(1);
  TarBuilder tar;
  tar.File(Hex(p.config_digest) + ".json", p.config).Symlink("evil.tar", "../../../etc/shadow");
  tar.File("manifest.json", DockerManifest(p, {"evil.tar"}).dump());
  RequireRefused(tar.Finish(), "is a symlink out of the archive");
}

TEST_CASE("hostile archive: an entry whose name climbs out with .. is refused") {
  Parts p = MakeParts(1);
  TarBuilder tar;
  tar.File("../../etc/passwd", "root::0:0::/:/bin/sh\n");
  DockerEntries(tar, p).File("manifest.json", DockerManifest(p, DockerLayerPaths(p)).dump());
  RequireRefused(tar.Finish(), "\"../../etc/passwd\" climbs out of the archive");
}

TEST_CASE("hostile archive: an entry with an absolute name is refused") {
  TarBuilder tar;
  tar.File("/etc/passwd", "root::0:0::/:/bin/sh\n");
  RequireRefused(tar.Finish(), "\"/etc/passwd\" has an absolute name");
}

TEST_CASE("hostile archive: a hard link out of the archive is refused") {
  TarBuilder tar;
  tar.Hardlink("x", "../../etc/passwd");
  RequireRefused(tar.Finish(), "is a hard link out of the archive");
}

TEST_CASE("hostile archive: a fifo entry is refused") {
  TarBuilder tar;
  tar.Fifo("manifest.json");
  RequireRefused(tar.Finish(), "is a device, fifo or socket");
}

TEST_CASE("hostile archive: a second manifest.json is refused") {
  Parts p = MakeParts(1);
  TarBuilder tar;
  std::string manifest = DockerManifest(p, DockerLayerPaths(p)).dump();
  DockerEntries(tar, p).File("manifest.json", manifest).File("./manifest.json", "[]");
  RequireRefused(tar.Finish(), "\"./manifest.json\" appears twice");
}

TEST_CASE("hostile archive: an oversized manifest.json is refused before it is read") {
  TarBuilder tar;
  tar.File("manifest.json", "[" + std::string(bld::store::kMaxArchiveDocumentSize, ' ') + "]");
  RequireRefused(tar.Finish(), "manifest.json is larger than the 4194304 bytes bld reads of it");
}

TEST_CASE("hostile archive: an oversized index.json is refused before it is read") {
  TarBuilder tar;
  tar.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  tar.File("index.json", "{" + std::string(bld::store::kMaxArchiveDocumentSize, ' ') + "}");
  RequireRefused(tar.Finish(), "index.json is larger than");
}

TEST_CASE("hostile archive: an oversized image config is refused") {
  Parts p = MakeParts(0);
  std::string config = p.config;
  config.insert(config.size() - 1, ",\"pad\":\"" + std::string(bld::store::kMaxConfigSize, 'x') + "\"");
  TarBuilder tar;
  tar.File("config.json", config);
  tar.File("manifest.json", json::array({{{"Config", "config.json"}, {"Layers", json::array()}}}).dump());
  RequireRefused(tar.Finish(), "config.json");
}

TEST_CASE("hostile archive: manifest.json that is not JSON is refused") {
  TarBuilder tar;
  tar.File("manifest.json", "[{\"Config\": ");
  RequireRefused(tar.Finish(), "manifest.json is not valid JSON");
}

TEST_CASE("hostile archive: deeply nested JSON is refused without exhausting the stack") {
  TarBuilder tar;
  tar.File("manifest.json", std::string(1 << 20, '[') + std::string(1 << 20, ']'));
  RequireRefused(tar.Finish(), "manifest.json: image 0 is not an object");
}

TEST_CASE("hostile archive: an OCI blob whose content does not match its name is refused") {
  Parts p = MakeParts(1);
  OciParts o = MakeOci(p);
  std::string& layer = o.blobs.at(o.blobs.rbegin()->first);
  layer += "tampered";
  TarBuilder tar;
  OciEntries(tar, o);
  RequireRefused(tar.Finish(), "does not hold the blob its name says");
}

TEST_CASE("hostile archive: an OCI manifest naming a blob missing from the archive is refused") {
  Parts p = MakeParts(1);
  OciParts o = MakeOci(p);
  o.blobs.erase(p.config_digest);
  TarBuilder tar;
  OciEntries(tar, o);
  RequireRefused(tar.Finish(), "needs the blob " + p.config_digest.str());
}

TEST_CASE("hostile archive: an OCI descriptor with a wrong size is refused") {
  Parts p = MakeParts(1);
  OciParts o = MakeOci(p);
  Descriptor wrong = o.manifest;
  wrong.size += 1;
  TarBuilder tar;
  OciEntries(tar, o, false).File("index.json", IndexJson({wrong}));
  RequireRefused(tar.Finish(), "but its descriptor says");
}

TEST_CASE("hostile archive: an OCI layer whose diffID differs from the config's is refused") {
  Parts p = MakeParts(1);
  Parts other = MakeParts(2);
  p.config = other.config;  // lists two other diffIDs...
  p.config_digest = other.config_digest;
  p.layers.push_back(p.layers[0]);  // ...over two copies of layer 0
  OciParts o = MakeOci(p);
  TarBuilder tar;
  OciEntries(tar, o);
  RequireRefused(tar.Finish(), "but the image config lists");
}

TEST_CASE("hostile archive: an index.json without oci-layout is refused") {
  TarBuilder tar;
  tar.File("index.json", IndexJson({}));
  RequireRefused(tar.Finish(), "no oci-layout file");
}

TEST_CASE("hostile archive: too many entries are refused") {
  TarBuilder tar;
  for (size_t i = 0; i <= bld::store::kMaxArchiveEntries; ++i) tar.Dir("d" + std::to_string(i));
  RequireRefused(tar.Finish(), "more than 100000 entries");
}

TEST_CASE("an archive that is not a tar, or is empty, is refused") {
  RequireRefused("this is not a tar archive, not even close, but long enough to be looked at",
                 "not a valid tar archive");
  RequireRefused("", "the archive is empty");
  RequireRefused(TarBuilder().File("readme", "hi").Finish(), "holds neither manifest.json");
}

// ---------------------------------------------------------------------------
// hostile layers, through load and import alike (the rules are
// store/layer_reader.h's, tested case by case in hostile_tar_test.cc)

TEST_CASE("hostile layer: random bytes are refused by load and import") {
  std::string junk(4096, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
  RequireLayerRefused(junk, "not a valid tar archive at its start");
}

TEST_CASE("hostile layer: a truncated tar is refused by load and import") {
  std::string tar = TarBuilder().File("ok", "fine").File("big", std::string(100000, 'a')).Finish();
  RequireLayerRefused(tar.substr(0, 50000), "not a valid tar archive after the entry \"big\"");
}

TEST_CASE("hostile layer: an entry climbing out with .. is refused by load and import") {
  RequireLayerRefused(TarBuilder().File("ok", "fine").File("a/../../etc/passwd", "evil").Finish(),
                      "layer entry \"a/../../etc/passwd\" climbs above the root with \"..\"");
}

TEST_CASE("hostile layer: a file written through a symlink of the layer is refused by load and import") {
  RequireLayerRefused(TarBuilder().Symlink("evil", "/etc").File("evil/passwd", "root::0:0::/:/bin/sh\n").Finish(),
                      "layer entry \"evil/passwd\" goes through \"evil\", a symlink an earlier entry made");
}

TEST_CASE("hostile layer: a hard link to a host path is refused by load and import") {
  RequireLayerRefused(TarBuilder().Hardlink("passwd", "/etc/passwd").Finish(),
                      "layer entry \"passwd\" is a hard link to \"/etc/passwd\", which is not an earlier entry of "
                      "the layer");
}

TEST_CASE("hostile layer: a hard link climbing out is refused by load and import") {
  RequireLayerRefused(TarBuilder().File("ok", "fine").Hardlink("passwd", "../../etc/passwd").Finish(),
                      "layer entry \"passwd\" is a hard link to \"../../etc/passwd\", which climbs above the root");
}

TEST_CASE("hostile layer: a symlink climbing above the root is refused by load and import") {
  RequireLayerRefused(TarBuilder().Symlink("up", "../../../etc").Finish(),
                      "layer entry \"up\" is a symlink to \"../../../etc\", which climbs above the root");
}

TEST_CASE("an absolute entry name is made relative, as Docker does: load and import accept it") {
  std::string layer = TarBuilder().Dir("/etc").File("/etc/motd", "hello").Finish();
  TempDir dir;
  auto store = Store::Open(dir / "store");
  LoadResult r = Load(*store, DockerArchiveWithLayer(layer));
  REQUIRE(r.images.size() == 1);
  ImportResult imported = bld::store::ImportRootfs(*store, StringSource(layer), {});
  CHECK(imported.layer.diff_id == Sha256::Of(layer));
  fs::create_directories(dir / "root");
  bld::store::ApplyLayer(StringSource(layer), dir / "root");
  CHECK(bld::testing::ReadFile(dir / "root/etc/motd") == "hello");
  CHECK(bld::store::CheckStore(*store).problems.empty());
}

// ---------------------------------------------------------------------------
// import

TEST_CASE("import makes a one-layer image whose diffID is the tar's sha256, from plain, gzip and zstd input") {
  TempDir dir;
  bld::testing::MakeBusyboxTar(dir / "rootfs.tar");
  std::string tar = bld::testing::ReadFile(dir / "rootfs.tar");
  auto store = Store::Open(dir / "store");
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string input = c == Compression::kNone ? tar : Compress(tar, c);
    ImportResult r = bld::store::ImportRootfs(*store, StringSource(input), {});
    CHECK(r.layer.diff_id == Sha256::Of(tar));
    CHECK(r.layer.uncompressed_size == tar.size());
    CHECK(r.layer.media_type == media_type::kOciLayerGzip);
    Image image = bld::store::ReadImage(*store, r.manifest);
    CHECK(image.id() == r.image_id);
    CHECK(image.config.rootfs.diff_ids == std::vector<Digest>{Sha256::Of(tar)});
    CHECK(store->DiffIdOf(r.layer.digest) == Sha256::Of(tar));
  }
}

TEST_CASE("an imported image has the host platform, its creation time and the comment Imported from") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  std::string tar = TarBuilder().Dir("etc").File("etc/hostname", "box\n").Finish();
  ImportOptions options;
  options.source = "rootfs.tar";
  options.created = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
  Image image = bld::store::ReadImage(*store, bld::store::ImportRootfs(*store, StringSource(tar), options).manifest);
  CHECK(image.config.architecture == bld::store::HostPlatform().architecture);
  CHECK(image.config.os == "linux");
  CHECK(image.config.created == "2026-01-01T00:00:00Z");
  CHECK(image.config.config.cmd.empty());
  REQUIRE(image.config.history.size() == 1);
  CHECK(image.config.history[0].comment == "Imported from rootfs.tar");
  CHECK(image.config.history[0].created_by.empty());
  options.message = "base system";
  image = bld::store::ReadImage(*store, bld::store::ImportRootfs(*store, StringSource(tar), options).manifest);
  CHECK(image.config.history[0].comment == "base system");
}

TEST_CASE("import refuses what is not a tar and leaves no blob behind") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  ImportOptions options;
  options.source = "junk";
  std::string junk(4096, 'x');
  REQUIRE_THROWS_WITH(bld::store::ImportRootfs(*store, StringSource(junk), options),
                      Catch::StartsWith("cannot import junk: not a valid tar archive"));
  std::string truncated = TarBuilder().File("big", std::string(100000, 'a')).Finish().substr(0, 5000);
  REQUIRE_THROWS_WITH(bld::store::ImportRootfs(*store, StringSource(truncated), options),
                      Catch::Contains("not a valid tar archive"));
  REQUIRE_THROWS_WITH(bld::store::ImportRootfs(*store, StringSource(""), options),
                      Catch::Contains("the layer is empty"));
  CHECK(store->blobs().List().empty());
  CHECK(store->blobs().ListIngestLeftovers().empty());
}

TEST_CASE("import refuses an entry that climbs out of the root with ..") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  ImportOptions options;
  options.source = "-";
  std::string tar = TarBuilder().File("ok", "fine").File("a/../../etc/passwd", "evil").Finish();
  REQUIRE_THROWS_WITH(
      bld::store::ImportRootfs(*store, StringSource(tar), options),
      "cannot import -: layer entry \"a/../../etc/passwd\" climbs above the root with \"..\"");
  tar = TarBuilder().Hardlink("link", "../outside").Finish();
  REQUIRE_THROWS_WITH(bld::store::ImportRootfs(*store, StringSource(tar), options),
                      Catch::Contains("which climbs above the root"));
  CHECK(store->blobs().List().empty());
}

