// Platforms ("linux/arm64", "linux/arm/v7"): the one place that parses,
// normalizes, formats and matches them, for `--platform`, `FROM
// --platform`, the choice of a manifest out of an index, and the host.
//
// The rules are containerd's platforms package, which docker and BuildKit
// use, so that a platform means the same to bld as to them:
//  - the OS is lower case, and "macos" is "darwin";
//  - architecture aliases: x86_64 and x86-64 are amd64, aarch64 is arm64,
//    i386 is 386 (and i686, which `uname -m` prints on 32-bit x86: bld's
//    addition, as BuildKit's build args accept it), armhf is arm/v7, armel
//    is arm/v6;
//  - default variants are dropped or filled in so that each platform has one
//    spelling: amd64/v1 is amd64, arm64/v8 (also "8" and "v8.0") is arm64,
//    arm64 "9"/"9.0"/"v9.0" is arm64/v9, arm alone is arm/v7, and arm's
//    "5", "6", "7", "8" are "v5" ... "v8".
// Unlike containerd's Parse, ParsePlatform returns the normalized form
// (containerd leaves that to Normalize), so formatting what was parsed
// gives the canonical text.
//
// Matching is containerd's Only(): a machine asked for `wanted` runs images
// for `wanted` and for the older platforms it is compatible with, in this
// order of preference:
//  - amd64/vN: amd64/vN, ..., amd64/v2, amd64 (v1), then 386;
//  - arm/vN (N > 5): arm/vN, ..., arm/v5;
//  - arm64/v9.N: arm64/v9.N, ..., arm64/v9, arm64/v8.(N+5 up to 9), ...,
//    arm64 (v8), then arm/v8, ..., arm/v5; arm64/v8.N: arm64/v8.N, ...,
//    arm64, then arm/v8, ..., arm/v5;
//  - every other platform: itself only.
//
// Thread safety: pure functions; HostPlatform reads nothing at run time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bld::store {

// The OCI image spec's platform object (JSON field names in store/oci.cc).
struct Platform {
  std::string architecture;
  std::string os;
  std::string os_version;  // "os.version", Windows only
  std::string variant;     // "v7", "v8", ...

  friend bool operator==(const Platform&, const Platform&) = default;
};

// Parses "os/arch[/variant]", or one word: a known OS (with the host's
// architecture, as containerd does) or else an architecture (on linux).
// The result is normalized. Throws bld::Error naming the text and the
// expected form for an empty part, too many parts, or a character outside
// [A-Za-z0-9_.-].
Platform ParsePlatform(std::string_view text);

// The canonical spelling of the same platform (see the top of this file).
Platform NormalizePlatform(Platform platform);

// "linux/arm64", "linux/arm/v7" (os.version is not part of the text).
std::string FormatPlatform(const Platform& platform);

// The platform of the images this build of bld runs natively.
Platform HostPlatform();

// The platforms whose images run where `wanted` is asked for, best first
// (see the top of this file); each is normalized.
std::vector<Platform> CompatiblePlatforms(const Platform& wanted);

// How good an image for `have` is where `wanted` is asked for: 0 for the
// same platform, higher for older compatible ones, nullopt when it cannot
// run there. Both sides are normalized first; os.version is ignored.
std::optional<size_t> MatchRank(const Platform& wanted, const Platform& have);

}  // namespace bld::store
