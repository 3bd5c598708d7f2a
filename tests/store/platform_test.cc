// Platforms parsed, normalized, formatted and matched as containerd's
// platforms package does (docker pull --platform, FROM --platform).
#include "store/platform.h"

#include <catch2/catch.hpp>

#include "store/error.h"
#include "store/image.h"

using bld::store::CompatiblePlatforms;
using bld::store::Descriptor;
using bld::store::Digest;
using bld::store::FormatPlatform;
using bld::store::HostPlatform;
using bld::store::ImageIndex;
using bld::store::MatchRank;
using bld::store::NormalizePlatform;
using bld::store::ParsePlatform;
using bld::store::Platform;
using bld::store::SelectManifest;

namespace {

std::string Canonical(const std::string& text) { return FormatPlatform(ParsePlatform(text)); }

std::string Normalized(const std::string& os, const std::string& arch, const std::string& variant = "") {
  return FormatPlatform(NormalizePlatform(Platform{arch, os, "", variant}));
}

std::vector<std::string> Compatible(const std::string& text) {
  std::vector<std::string> out;
  for (const Platform& p : CompatiblePlatforms(ParsePlatform(text))) out.push_back(FormatPlatform(p));
  return out;
}

std::optional<size_t> Rank(const std::string& wanted, const std::string& os, const std::string& arch,
                           const std::string& variant = "") {
  return MatchRank(ParsePlatform(wanted), Platform{arch, os, "", variant});
}

Descriptor Entry(char hex, const std::string& os, const std::string& arch, const std::string& variant = "") {
  Descriptor d;
  d.media_type = "application/vnd.oci.image.manifest.v1+json";
  d.digest = Digest::FromHex(std::string(64, hex));
  d.size = 100;
  d.platform = Platform{arch, os, "", variant};
  return d;
}

std::string Pick(const ImageIndex& index, const std::string& platform) {
  auto d = SelectManifest(index, ParsePlatform(platform));
  return d ? std::string(1, d->digest.hex()[0]) : "none";
}

}  // namespace

// ---------------------------------------------------------------------------
// normalization

TEST_CASE("the OS is lower case and macos is darwin") {
  CHECK(Normalized("Linux", "amd64") == "linux/amd64");
  CHECK(Normalized("WINDOWS", "amd64") == "windows/amd64");
  CHECK(Normalized("macos", "arm64") == "darwin/arm64");
  CHECK(Normalized("MacOS", "arm64") == "darwin/arm64");
}

TEST_CASE("x86_64, x86-64 and amd64 are amd64, and amd64's v1 is no variant") {
  CHECK(Normalized("linux", "x86_64") == "linux/amd64");
  CHECK(Normalized("linux", "x86-64") == "linux/amd64");
  CHECK(Normalized("linux", "AMD64") == "linux/amd64");
  CHECK(Normalized("linux", "amd64", "v1") == "linux/amd64");
  CHECK(Normalized("linux", "amd64", "V3") == "linux/amd64/v3");
}

TEST_CASE("i386 and i686 are 386, without a variant") {
  CHECK(Normalized("linux", "i386") == "linux/386");
  CHECK(Normalized("linux", "i686") == "linux/386");
  CHECK(Normalized("linux", "i386", "whatever") == "linux/386");
  CHECK(Normalized("linux", "386") == "linux/386");
}

TEST_CASE("aarch64 is arm64, whose v8 is no variant and whose 9.0 is v9") {
  CHECK(Normalized("linux", "aarch64") == "linux/arm64");
  CHECK(Normalized("linux", "arm64", "v8") == "linux/arm64");
  CHECK(Normalized("linux", "arm64", "8") == "linux/arm64");
  CHECK(Normalized("linux", "arm64", "v8.0") == "linux/arm64");
  CHECK(Normalized("linux", "arm64", "v8.2") == "linux/arm64/v8.2");
  CHECK(Normalized("linux", "arm64", "9") == "linux/arm64/v9");
  CHECK(Normalized("linux", "arm64", "9.0") == "linux/arm64/v9");
  CHECK(Normalized("linux", "arm64", "v9.0") == "linux/arm64/v9");
}

TEST_CASE("armhf is arm/v7 and armel is arm/v6, whatever variant came with them") {
  CHECK(Normalized("linux", "armhf") == "linux/arm/v7");
  CHECK(Normalized("linux", "armel") == "linux/arm/v6");
  CHECK(Normalized("linux", "armel", "v7") == "linux/arm/v6");
}

TEST_CASE("arm without a variant is arm/v7, and bare arm variant numbers get their v") {
  CHECK(Normalized("linux", "arm") == "linux/arm/v7");
  CHECK(Normalized("linux", "arm", "7") == "linux/arm/v7");
  CHECK(Normalized("linux", "arm", "5") == "linux/arm/v5");
  CHECK(Normalized("linux", "arm", "6") == "linux/arm/v6");
  CHECK(Normalized("linux", "arm", "8") == "linux/arm/v8");
  CHECK(Normalized("linux", "ARM", "V6") == "linux/arm/v6");
}

TEST_CASE("other architectures and variants are kept, lower cased") {
  CHECK(Normalized("linux", "s390x") == "linux/s390x");
  CHECK(Normalized("linux", "RISCV64") == "linux/riscv64");
  CHECK(Normalized("linux", "ppc64le", "power9") == "linux/ppc64le/power9");
}

TEST_CASE("normalizing a normalized platform changes nothing") {
  for (const char* text : {"linux/amd64", "linux/arm/v7", "linux/arm64", "linux/arm64/v9", "linux/386"}) {
    Platform p = ParsePlatform(text);
    CHECK(NormalizePlatform(p) == p);
  }
}

// ---------------------------------------------------------------------------
// parsing and formatting

TEST_CASE("os/arch and os/arch/variant parse to their normalized form") {
  CHECK(Canonical("linux/amd64") == "linux/amd64");
  CHECK(Canonical("linux/x86_64") == "linux/amd64");
  CHECK(Canonical("linux/arm64/v8") == "linux/arm64");
  CHECK(Canonical("Linux/ARM/6") == "linux/arm/v6");
  CHECK(Canonical("linux/arm") == "linux/arm/v7");
  CHECK(Canonical("windows/amd64") == "windows/amd64");
}

TEST_CASE("a lone architecture means linux") {
  CHECK(Canonical("arm64") == "linux/arm64");
  CHECK(Canonical("aarch64") == "linux/arm64");
  CHECK(Canonical("armhf") == "linux/arm/v7");
  CHECK(Canonical("s390x") == "linux/s390x");
}

TEST_CASE("a lone OS means that OS on the host's architecture") {
  Platform p = ParsePlatform("windows");
  CHECK(p.os == "windows");
  CHECK(p.architecture == HostPlatform().architecture);
  CHECK(ParsePlatform("linux") == HostPlatform());
  CHECK(ParsePlatform("macos").os == "darwin");
}

TEST_CASE("an OS version in parentheses is kept apart from the OS") {
  Platform p = ParsePlatform("windows(10.0.17763)/amd64");
  CHECK(p.os == "windows");
  CHECK(p.os_version == "10.0.17763");
  CHECK(FormatPlatform(p) == "windows/amd64");
}

TEST_CASE("malformed platforms are refused with the expected form") {
  CHECK_THROWS_WITH(ParsePlatform(""), Catch::Contains("empty part") && Catch::Contains("os/arch"));
  CHECK_THROWS_WITH(ParsePlatform("linux/"), Catch::Contains("empty part") && Catch::Contains("os/arch"));
  CHECK_THROWS_WITH(ParsePlatform("a/b/c/d"), Catch::Contains("too many parts"));
  CHECK_THROWS_WITH(ParsePlatform("linux/amd 64"), Catch::Contains("only letters, digits"));
  CHECK_THROWS_WITH(ParsePlatform("lin*ux/amd64"), Catch::Contains("only letters, digits"));
  CHECK_THROWS_WITH(ParsePlatform("windows(10/amd64"), Catch::Contains("parentheses"));
}

TEST_CASE("a lone word that is neither a known OS nor a known architecture is refused") {
  CHECK_THROWS_WITH(ParsePlatform("amd46"), Catch::Contains("not a known operating system or architecture"));
}

TEST_CASE("the host platform is linux and normalized") {
  Platform host = HostPlatform();
  CHECK(host.os == "linux");
  CHECK_FALSE(host.architecture.empty());
  CHECK(NormalizePlatform(host) == host);
}

// ---------------------------------------------------------------------------
// matching

TEST_CASE("a platform runs itself first, whatever spelling the image uses") {
  CHECK(Rank("linux/amd64", "linux", "amd64") == 0u);
  CHECK(Rank("linux/amd64", "Linux", "x86_64") == 0u);
  CHECK(Rank("linux/arm64", "linux", "arm64", "v8") == 0u);
  CHECK(Rank("linux/arm64/v8", "linux", "aarch64") == 0u);
  CHECK(Rank("linux/arm", "linux", "arm", "v7") == 0u);
  CHECK(Rank("linux/arm/v7", "linux", "armhf") == 0u);
}

TEST_CASE("another OS or an unrelated architecture never matches") {
  CHECK_FALSE(Rank("linux/amd64", "windows", "amd64"));
  CHECK_FALSE(Rank("linux/amd64", "linux", "arm64"));
  CHECK_FALSE(Rank("linux/s390x", "linux", "amd64"));
  CHECK_FALSE(Rank("linux/386", "linux", "amd64"));
}

TEST_CASE("arm/v7 runs v6 and v5 images, closest first, and never newer ones") {
  CHECK(Compatible("linux/arm/v7") == std::vector<std::string>{"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"});
  CHECK(Compatible("linux/arm/v8") ==
        std::vector<std::string>{"linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"});
  CHECK(Compatible("linux/arm/v5") == std::vector<std::string>{"linux/arm/v5"});
  CHECK_FALSE(Rank("linux/arm/v6", "linux", "arm", "v7"));
}

TEST_CASE("amd64 levels run the lower levels, then 386") {
  CHECK(Compatible("linux/amd64") == std::vector<std::string>{"linux/amd64", "linux/386"});
  CHECK(Compatible("linux/amd64/v3") ==
        std::vector<std::string>{"linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"});
  CHECK_FALSE(Rank("linux/amd64", "linux", "amd64", "v2"));
}

TEST_CASE("arm64 runs its older minor versions, then 32-bit arm from v8 down") {
  CHECK(Compatible("linux/arm64") ==
        std::vector<std::string>{"linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"});
  std::vector<std::string> v82 = Compatible("linux/arm64/v8.2");
  CHECK(std::vector<std::string>(v82.begin(), v82.begin() + 4) ==
        std::vector<std::string>{"linux/arm64/v8.2", "linux/arm64/v8.1", "linux/arm64", "linux/arm/v8"});
  CHECK_FALSE(Rank("linux/arm64", "linux", "arm64", "v8.1"));
}

TEST_CASE("arm64/v9.N also runs arm64/v8.(N+5)") {
  std::vector<std::string> v91 = Compatible("linux/arm64/v9.1");
  REQUIRE(v91.size() >= 4);
  CHECK(std::vector<std::string>(v91.begin(), v91.begin() + 4) ==
        std::vector<std::string>{"linux/arm64/v9.1", "linux/arm64/v9", "linux/arm64/v8.6", "linux/arm64/v8.5"});
  CHECK(Rank("linux/arm64/v9", "linux", "arm64", "v8.5").has_value());
  CHECK_FALSE(Rank("linux/arm64/v9", "linux", "arm64", "v8.6"));
}

TEST_CASE("a platform without fallbacks runs only itself") {
  CHECK(Compatible("linux/s390x") == std::vector<std::string>{"linux/s390x"});
  CHECK(Compatible("linux/386") == std::vector<std::string>{"linux/386"});
}

// ---------------------------------------------------------------------------
// choosing a manifest out of an index

TEST_CASE("an index entry is picked by os and architecture") {
  ImageIndex index;
  index.manifests = {Entry('a', "linux", "amd64"), Entry('b', "linux", "arm64", "v8"), Entry('c', "windows", "amd64")};
  CHECK(Pick(index, "linux/amd64") == "a");
  CHECK(Pick(index, "linux/arm64") == "b");
  CHECK(Pick(index, "windows/amd64") == "c");
  CHECK(Pick(index, "linux/s390x") == "none");
}

TEST_CASE("an exact variant wins, else the closest one the platform can run") {
  ImageIndex index;
  index.manifests = {Entry('5', "linux", "arm", "v5"), Entry('6', "linux", "arm", "v6"), Entry('7', "linux", "arm", "v7")};
  CHECK(Pick(index, "linux/arm/v7") == "7");
  CHECK(Pick(index, "linux/arm/v6") == "6");
  index.manifests.pop_back();
  CHECK(Pick(index, "linux/arm/v7") == "6");
  CHECK(Pick(index, "linux/arm/v8") == "6");
  index.manifests = {Entry('7', "linux", "arm", "v7")};
  CHECK(Pick(index, "linux/arm/v6") == "none");
}

TEST_CASE("amd64 falls back to a 386 image only when there is no amd64 one") {
  ImageIndex index;
  index.manifests = {Entry('3', "linux", "386"), Entry('a', "linux", "amd64")};
  CHECK(Pick(index, "linux/amd64") == "a");
  index.manifests = {Entry('3', "linux", "386")};
  CHECK(Pick(index, "linux/amd64") == "3");
}

TEST_CASE("of two equal entries the first in the index is picked") {
  ImageIndex index;
  index.manifests = {Entry('1', "linux", "amd64"), Entry('2', "linux", "x86_64")};
  CHECK(Pick(index, "linux/amd64") == "1");
}

TEST_CASE("entries without a platform, such as attestations, are never picked") {
  ImageIndex index;
  Descriptor attestation = Entry('d', "unknown", "unknown");
  Descriptor bare = Entry('e', "linux", "amd64");
  bare.platform.reset();
  index.manifests = {attestation, bare};
  CHECK(Pick(index, "linux/amd64") == "none");
}
