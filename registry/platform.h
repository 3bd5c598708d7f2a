// Platforms ("linux/arm64/v8") as docker and containerd parse, normalize and
// match them, to pick one image out of a multi-platform index.
//
// Normalization follows containerd's platforms package: architecture aliases
// (x86_64 -> amd64, aarch64 -> arm64, armhf -> arm/v7, armel -> arm/v6,
// i386 -> 386), arm64's default variant v8 dropped, arm's default v7 filled
// in. Matching is what `docker pull --platform` does: the same OS and
// architecture, and a variant the wanted one can run: arm/v7 runs v7, v6 and
// v5 images (the closest first); amd64/v3 runs v3, v2 and v1.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/oci.h"

namespace bld::registry {

// Parses "os[/arch[/variant]]" (or a bare architecture, meaning linux) and
// normalizes it. Throws bld::Error for an empty part or too many parts.
store::Platform ParsePlatform(std::string_view text);
store::Platform NormalizePlatform(store::Platform platform);
// "linux/arm64", "linux/arm/v7".
std::string FormatPlatform(const store::Platform& platform);

// The index entry to use for `wanted`: an exact match if there is one, else
// the closest compatible variant; nullopt if none can run there.
std::optional<store::Descriptor> SelectManifest(const store::ImageIndex& index, const store::Platform& wanted);

}  // namespace bld::registry
