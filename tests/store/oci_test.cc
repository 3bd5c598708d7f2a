#include "store/oci.h"

#include <catch2/catch.hpp>
#include <string>

#include "store/error.h"

namespace media_type = bld::store::media_type;
using bld::store::ContainerConfig;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::HealthConfig;
using bld::store::HistoryEntry;
using bld::store::ImageConfig;
using bld::store::ImageIndex;
using bld::store::ImageManifest;
using bld::store::Platform;
using bld::store::Sha256;

namespace {

Digest D(char c) { return Digest::FromHex(std::string(64, c)); }

Descriptor Blob(std::string media_type, char c, int64_t size) {
  Descriptor d;
  d.media_type = std::move(media_type);
  d.digest = D(c);
  d.size = size;
  return d;
}

// A Docker Hub manifest as a registry serves it (pretty-printed, Docker's
// field order), trimmed to two layers.
constexpr std::string_view kDockerHubManifest = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 7916,
      "digest": "sha256:448a08f1d2f94e8db6db9286fd77a3a4f3712786583720a12f1648abb8cace25"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 31403516,
         "digest": "sha256:9e3ea8720c6de96cc9ad544dddc695a3ab73f5581c5d954e0504cc4f80fb5e5c"
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 626,
         "digest": "sha256:15a97cf85bb88997d139f86b2be23f99175d51d7e45a4c4b04ec0cbdbb56a63b"
      }
   ]
})";

// What the classic Docker builder writes: nulls where OCI writers omit
// fields, plus fields bld does not model (container_config, docker_version).
constexpr std::string_view kLegacyDockerConfig = R"({
  "architecture": "amd64",
  "config": {"Hostname": "", "User": "", "Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh"],
             "Entrypoint": null, "OnBuild": null, "Labels": null, "Volumes": null, "Image": "sha256:abc"},
  "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD [\"/bin/sh\"]"]},
  "created": "2019-05-15T21:21:23.123456789Z",
  "docker_version": "18.06.1-ce",
  "history": [{"created": "2019-05-15T21:21:22Z", "created_by": "/bin/sh -c #(nop) ADD file:a65e in / "},
              {"created": "2019-05-15T21:21:23Z", "created_by": "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]",
               "empty_layer": true}],
  "os": "linux",
  "rootfs": {"type": "layers",
             "diff_ids": ["sha256:1111111111111111111111111111111111111111111111111111111111111111"]}
})";

ImageConfig FullConfig() {
  ImageConfig c;
  c.created = "2024-01-02T03:04:05.123456789Z";
  c.author = "dev@example.com";
  c.architecture = "arm";
  c.os = "linux";
  c.variant = "v7";
  ContainerConfig& r = c.config;
  r.user = "1000:1000";
  r.exposed_ports = {"80/tcp", "53/udp"};
  r.env = {"PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"};
  r.entrypoint = {"/entrypoint.sh"};
  r.cmd = {"serve", "--port", "80"};
  r.volumes = {"/data"};
  r.working_dir = "/app";
  r.labels = {{"org.opencontainers.image.source", "https://example.com/repo"}, {"maintainer", "me"}};
  r.stop_signal = "SIGTERM";
  r.args_escaped = true;
  r.healthcheck = HealthConfig{{"CMD-SHELL", "curl -f http://localhost/ || exit 1"},
                               30'000'000'000, 5'000'000'000, 10'000'000'000, 1'000'000'000, 3};
  r.on_build = {"RUN make"};
  r.shell = {"/bin/bash", "-c"};
  c.rootfs.diff_ids = {D('1'), D('2')};
  c.history = {HistoryEntry{"2024-01-02T03:04:05Z", "ADD rootfs.tar /", "", "", false},
               HistoryEntry{"2024-01-02T03:04:06Z", "ENV LANG=C.UTF-8", "someone", "a comment", true}};
  return c;
}

}  // namespace

TEST_CASE("an OCI image manifest survives serialize and parse unchanged") {
  ImageManifest m;
  m.media_type = media_type::kOciManifest;
  m.config = Blob(std::string(media_type::kOciConfig), 'c', 1234);
  m.layers = {Blob(std::string(media_type::kOciLayerGzip), 'a', 100),
              Blob(std::string(media_type::kOciLayerZstd), 'b', 200)};
  m.layers[1].urls = {"https://mirror.example.com/b"};
  m.layers[1].annotations = {{"org.opencontainers.image.title", "b.tar.zst"}};
  m.annotations = {{"org.opencontainers.image.created", "2024-01-02T03:04:05Z"}};

  std::string json = Serialize(m);
  CHECK(ParseImageManifest(json, Sha256::Of(json)) == m);
  CHECK(json.starts_with(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)"));
}

TEST_CASE("a Docker schema 2 manifest from a registry parses with its media types") {
  Digest digest = Sha256::Of(kDockerHubManifest);
  ImageManifest m = ParseImageManifest(kDockerHubManifest, digest);
  CHECK(m.media_type == media_type::kDockerManifest);
  CHECK(m.config.media_type == media_type::kDockerConfig);
  CHECK(m.config.size == 7916);
  REQUIRE(m.layers.size() == 2);
  CHECK(m.layers[0].media_type == media_type::kDockerLayerGzip);
  CHECK(m.layers[0].size == 31403516);
  CHECK(m.layers[1].digest.str() == "sha256:15a97cf85bb88997d139f86b2be23f99175d51d7e45a4c4b04ec0cbdbb56a63b");
}

TEST_CASE("an image index with platforms survives serialize and parse unchanged") {
  ImageIndex index;
  index.media_type = media_type::kOciIndex;
  index.manifests = {Blob(std::string(media_type::kOciManifest), '1', 500),
                     Blob(std::string(media_type::kOciManifest), '2', 501)};
  index.manifests[0].platform = Platform{"amd64", "linux", "", ""};
  index.manifests[1].platform = Platform{"arm64", "linux", "", "v8"};
  std::string json = Serialize(index);
  CHECK(ParseImageIndex(json, Sha256::Of(json)) == index);
}

TEST_CASE("a Docker manifest list parses as an index") {
  std::string json = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
    "manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1570,
      "digest":"sha256:3f01b0094e21f7d55b9eb7179d01c49fdf9c3e1e3419d315b81a9e0bae1b6a90",
      "platform":{"architecture":"arm","os":"linux","variant":"v6"}}]})";
  ImageIndex index = ParseImageIndex(json, Sha256::Of(json));
  CHECK(index.media_type == media_type::kDockerManifestList);
  REQUIRE(index.manifests.size() == 1);
  CHECK(index.manifests[0].platform == Platform{"arm", "linux", "", "v6"});
}

TEST_CASE("an image config with every field survives serialize and parse unchanged") {
  ImageConfig config = FullConfig();
  std::string json = Serialize(config);
  CHECK(ParseImageConfig(json, Sha256::Of(json)) == config);
}

TEST_CASE("an image config serializes deterministically in the spec's field order") {
  ImageConfig config;
  config.architecture = "amd64";
  config.os = "linux";
  config.config.env = {"A=1"};
  config.config.labels = {{"z", "last"}, {"a", "first"}};
  config.config.exposed_ports = {"8080/tcp"};
  config.rootfs.diff_ids = {D('1')};
  config.history = {HistoryEntry{"", "ENV A=1", "", "", true}};
  CHECK(Serialize(config) ==
        R"({"architecture":"amd64","os":"linux","config":{"ExposedPorts":{"8080/tcp":{}},"Env":["A=1"],)"
        R"("Labels":{"a":"first","z":"last"}},"rootfs":{"type":"layers","diff_ids":["sha256:)" +
            std::string(64, '1') + R"("]},"history":[{"created_by":"ENV A=1","empty_layer":true}]})");
  CHECK(Serialize(config) == Serialize(ImageConfig(config)));
}

TEST_CASE("a classic Docker config with null fields and extra fields parses") {
  ImageConfig c = ParseImageConfig(kLegacyDockerConfig, Sha256::Of(kLegacyDockerConfig));
  CHECK(c.architecture == "amd64");
  CHECK(c.created == "2019-05-15T21:21:23.123456789Z");
  CHECK(c.config.cmd == std::vector<std::string>{"/bin/sh"});
  CHECK(c.config.entrypoint.empty());
  CHECK(c.config.labels.empty());
  REQUIRE(c.history.size() == 2);
  CHECK(c.history[1].empty_layer);
  CHECK(c.rootfs.diff_ids == std::vector<Digest>{D('1')});
}

TEST_CASE("invalid UTF-8 in a label is written as U+FFFD instead of failing") {
  ImageConfig config;
  config.architecture = "amd64";
  config.os = "linux";
  config.config.labels = {{"latin1", "caf\xe9"}};
  std::string json = Serialize(config);
  CHECK(ParseImageConfig(json, Sha256::Of(json)).config.labels.at("latin1") == "caf\xef\xbf\xbd");
}

TEST_CASE("JSON over the size limit is refused before parsing") {
  std::string big_manifest(bld::store::kMaxManifestSize + 1, ' ');
  CHECK_THROWS_WITH(ParseImageManifest(big_manifest, D('e')),
                    Catch::Contains("image manifest " + D('e').str()) &&
                        Catch::Contains(std::to_string(big_manifest.size()) + " bytes") &&
                        Catch::Contains(std::to_string(bld::store::kMaxManifestSize)));
  std::string big_index(bld::store::kMaxIndexSize + 1, ' ');
  CHECK_THROWS_WITH(ParseImageIndex(big_index, D('f')), Catch::Contains("more than"));
  std::string big_config(bld::store::kMaxConfigSize + 1, ' ');
  CHECK_THROWS_WITH(ParseImageConfig(big_config, D('c')),
                    Catch::Contains("image config " + D('c').str()) && Catch::Contains("more than"));
}

TEST_CASE("malformed JSON is an error naming the document and the position") {
  CHECK_THROWS_WITH(ParseImageConfig(R"({"architecture": "amd64",)", D('c')),
                    Catch::StartsWith("invalid image config " + D('c').str() + ": not valid JSON: ") &&
                        Catch::Contains("line 1") && !Catch::Contains("json.exception"));
  CHECK_THROWS_WITH(ParseImageManifest("", D('e')), Catch::Contains("not valid JSON"));
}

TEST_CASE("a field of the wrong type is an error naming the field") {
  CHECK_THROWS_WITH(ParseImageConfig(R"({"config":{"Env":["A=1",2]},"rootfs":{"type":"layers"}})", D('c')),
                    "invalid image config " + D('c').str() + ": config.Env[1]: expected a string, got a number");
  CHECK_THROWS_WITH(
      ParseImageManifest(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:1","size":1},"layers":[]})",
                         D('e')),
      Catch::Contains("config.digest: invalid digest"));
  CHECK_THROWS_WITH(ParseImageManifest(R"({"schemaVersion":"2"})", D('e')),
                    Catch::Contains("schemaVersion: expected an integer, got a string"));
  CHECK_THROWS_WITH(ParseImageIndex(R"([])", D('f')),
                    "invalid image index " + D('f').str() + ": expected an object, got an array");
  std::string negative = R"({"schemaVersion":2,"manifests":[{"mediaType":"x","digest":")" + D('a').str() +
                         R"(","size":-1}]})";
  CHECK_THROWS_WITH(ParseImageIndex(negative, D('f')), Catch::Contains("manifests[0].size: must not be negative"));
}

TEST_CASE("a missing required field is an error naming the field") {
  CHECK_THROWS_WITH(ParseImageManifest(R"({"schemaVersion":2,"layers":[]})", D('e')), Catch::Contains("config: missing"));
  CHECK_THROWS_WITH(ParseImageConfig(R"({"architecture":"amd64","os":"linux"})", D('c')),
                    Catch::Contains("rootfs: missing"));
}

TEST_CASE("a Docker schema 1 manifest is refused with a clear message") {
  CHECK_THROWS_WITH(ParseImageManifest(R"({"schemaVersion":1,"name":"library/old","fsLayers":[]})", D('e')),
                    Catch::Contains("schema 1 manifests are not supported"));
}

TEST_CASE("an index is not accepted where a manifest is expected, nor the reverse") {
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})";
  CHECK_THROWS_WITH(ParseImageManifest(index, D('f')), Catch::Contains("is an image index"));
  std::string manifest = Serialize(ImageManifest{std::string(media_type::kOciManifest),
                                                 Blob(std::string(media_type::kOciConfig), 'c', 1), {}, {}});
  CHECK_THROWS_WITH(ParseImageIndex(manifest, D('e')), Catch::Contains("is an image manifest"));
}

TEST_CASE("deeply nested JSON is refused while parsing") {
  std::string nested = "{\"config\":" + std::string(1'000'000, '[') + std::string(1'000'000, ']') + "}";
  CHECK_THROWS_WITH(ParseImageConfig(nested, D('c')), Catch::Contains("nested deeper than"));
}

TEST_CASE("media type helpers tell manifests from indexes") {
  CHECK(bld::store::IsManifestMediaType(media_type::kOciManifest));
  CHECK(bld::store::IsManifestMediaType(media_type::kDockerManifest));
  CHECK_FALSE(bld::store::IsManifestMediaType(media_type::kOciIndex));
  CHECK(bld::store::IsIndexMediaType(media_type::kOciIndex));
  CHECK(bld::store::IsIndexMediaType(media_type::kDockerManifestList));
  CHECK_FALSE(bld::store::IsIndexMediaType(media_type::kOciLayerGzip));
}

TEST_CASE("a descriptor survives serialize and parse unchanged") {
  Descriptor d = Blob(std::string(media_type::kOciManifest), 'd', 42);
  d.annotations = {{"org.opencontainers.image.ref.name", "v1"}};
  CHECK(bld::store::ParseDescriptor(Serialize(d), "test") == d);
  CHECK(Serialize(d) == R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d.digest.str() +
                            R"(","size":42,"annotations":{"org.opencontainers.image.ref.name":"v1"}})");
}
