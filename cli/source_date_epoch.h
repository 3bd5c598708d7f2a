// SOURCE_DATE_EPOCH (reproducible-builds.org): a number of seconds since
// 1970 that replaces "now" in what bld writes (image and history times, and
// for builds the clamp of layer entry times), so that the same inputs give
// the same image ID on any machine.
//
// Read from the environment by every command that writes an image (build,
// import), and for `bld build` also from `--build-arg SOURCE_DATE_EPOCH=N`,
// BuildKit's convention, which wins over the environment. A value that is not
// a whole, non-negative number of seconds is an error naming where it came
// from, never ignored.
//
// Thread safety: reads the environment; call from the main thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace bld::cli {

inline constexpr const char* kSourceDateEpoch = "SOURCE_DATE_EPOCH";

// The build arg when `build_args` holds one, else the environment's; nullopt
// when neither is set (or the variable is empty, as other tools treat it).
std::optional<int64_t> SourceDateEpoch(const std::map<std::string, std::string>& build_args = {});

}  // namespace bld::cli
