// Timestamps as images, containers and registries write them: RFC 3339 in
// UTC, with the fraction's trailing zeros dropped, as Go's
// time.RFC3339Nano formats them ("2024-05-01T12:00:00.5Z"), which is what
// docker, containerd and registries write in configs, history entries and
// container records. One home for writing and reading them, so that every
// module writes the same text for the same instant.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace bld::store {

// "2024-05-01T12:00:00Z", "1970-01-01T00:00:01.5Z": UTC, fraction to the
// nanosecond without trailing zeros, none when it is whole seconds.
std::string FormatTimestamp(std::chrono::system_clock::time_point time);

// The time an RFC 3339 timestamp with any fraction (to the nanosecond) and
// offset names ("2024-05-01T12:00:00.5+02:00"); nullopt when it is not one.
std::optional<std::chrono::system_clock::time_point> ParseTimestamp(std::string_view text);

}  // namespace bld::store
