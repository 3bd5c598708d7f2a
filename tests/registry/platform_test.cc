// Platforms parsed, normalized and matched as docker pull --platform does.
#include "registry/platform.h"

#include <catch2/catch.hpp>

#include "store/error.h"

using bld::registry::FormatPlatform;
using bld::registry::ParsePlatform;
using bld::registry::SelectManifest;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::ImageIndex;
using bld::store::Platform;

namespace {

Descriptor Entry(const std::string& hex_char, const std::string& os, const std::string& arch,
                 const std::string& variant = "") {
  Descriptor d;
  d.media_type = "application/vnd.oci.image.manifest.v1+json";
  d.digest = Digest::FromHex(std::string(64, hex_char[0]));
  d.size = 100;
  d.platform = Platform{arch, os, "", variant};
  return d;
}

std::string Pick(const ImageIndex& index, const std::string& platform) {
  auto d = SelectManifest(index, ParsePlatform(platform));
  return d ? std::string(1, d->digest.hex()[0]) : "none";
}

}  // namespace

TEST_CASE("platforms are normalized as containerd does") {
  CHECK(FormatPlatform(ParsePlatform("linux/amd64")) == "linux/amd64");
  CHECK(FormatPlatform(ParsePlatform("linux/x86_64")) == "linux/amd64");
  CHECK(FormatPlatform(ParsePlatform("linux/aarch64")) == "linux/arm64");
  CHECK(FormatPlatform(ParsePlatform("linux/arm64/v8")) == "linux/arm64");
  CHECK(FormatPlatform(ParsePlatform("linux/arm")) == "linux/arm/v7");
  CHECK(FormatPlatform(ParsePlatform("linux/armhf")) == "linux/arm/v7");
  CHECK(FormatPlatform(ParsePlatform("Linux/ARM/6")) == "linux/arm/v6");
  CHECK(FormatPlatform(ParsePlatform("arm64")) == "linux/arm64");
  CHECK(ParsePlatform("windows").os == "windows");
}

TEST_CASE("malformed platforms are refused with the expected form") {
  CHECK_THROWS_WITH(ParsePlatform("linux/"), Catch::Contains("empty part") && Catch::Contains("os/arch"));
  CHECK_THROWS_WITH(ParsePlatform("a/b/c/d"), Catch::Contains("too many parts"));
}

TEST_CASE("an index entry is picked by os and architecture") {
  ImageIndex index;
  index.manifests = {Entry("a", "linux", "amd64"), Entry("b", "linux", "arm64", "v8"), Entry("c", "windows", "amd64")};
  CHECK(Pick(index, "linux/amd64") == "a");
  CHECK(Pick(index, "linux/arm64") == "b");
  CHECK(Pick(index, "windows/amd64") == "c");
  CHECK(Pick(index, "linux/s390x") == "none");
}

TEST_CASE("an exact variant wins, else the closest one the platform can run") {
  ImageIndex index;
  index.manifests = {Entry("5", "linux", "arm", "v5"), Entry("6", "linux", "arm", "v6"), Entry("7", "linux", "arm", "v7")};
  CHECK(Pick(index, "linux/arm/v7") == "7");
  CHECK(Pick(index, "linux/arm/v6") == "6");
  index.manifests.pop_back();
  CHECK(Pick(index, "linux/arm/v7") == "6");
  CHECK(Pick(index, "linux/arm/v8") == "6");
  index.manifests = {Entry("7", "linux", "arm", "v7")};
  CHECK(Pick(index, "linux/arm/v6") == "none");
}

TEST_CASE("entries without a platform, such as attestations, are never picked") {
  ImageIndex index;
  Descriptor attestation = Entry("d", "unknown", "unknown");
  Descriptor bare = Entry("e", "linux", "amd64");
  bare.platform.reset();
  index.manifests = {attestation, bare};
  CHECK(Pick(index, "linux/amd64") == "none");
}
