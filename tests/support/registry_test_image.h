// Images for registry tests, built from scratch in memory (tar layers,
// gzip, config, manifest, index) so that the same image can be put in a bld
// store, written as an OCI image layout for skopeo, and compared byte for byte
// after a round trip. Nothing here uses bld's own code: a test image must not
// share a bug with what it tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bld::testing {

struct TestFile {
  std::string path;  // "etc/hello"
  std::string content;
};

struct TestImageSpec {
  std::vector<std::vector<TestFile>> layers;
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
  bool gzip = true;
  // A manifest without "mediaType", as umoci and podman write them.
  bool omit_manifest_media_type = false;
};

struct TestBlob {
  std::string digest;  // "sha256:..."
  std::string media_type;
  std::string data;
};

struct TestImage {
  TestBlob manifest;
  TestBlob config;
  std::vector<TestBlob> layers;
  std::vector<std::string> diff_ids;
};

struct TestIndex {
  TestBlob index;
  std::vector<TestImage> images;
};

TestImage BuildTestImage(const TestImageSpec& spec);
// An OCI index listing one image per spec, each with its platform.
TestIndex BuildTestIndex(const std::vector<TestImageSpec>& specs);

// Adds the image (or index) to the OCI image layout in `dir` (created if
// needed) under the name `tag` (org.opencontainers.image.ref.name), as
// `skopeo copy oci:DIR:TAG` reads it.
void WriteOciLayout(const std::string& dir, const std::string& tag, const TestImage& image);
void WriteOciLayout(const std::string& dir, const std::string& tag, const TestIndex& index);

// Deterministic pseudo-random bytes (incompressible, unlike repeated text).
std::string RandomBytes(size_t size, uint64_t seed);
std::string Sha256Digest(std::string_view data);
// A ustar archive of the files, in the order given.
std::string MakeTar(const std::vector<TestFile>& files);
std::string Gzip(std::string_view data);

}  // namespace bld::testing
