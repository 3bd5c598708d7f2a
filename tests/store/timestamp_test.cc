// Timestamps written as Go's RFC3339Nano and read with any offset.
#include "store/timestamp.h"

#include <catch2/catch.hpp>
#include <cstdint>

using bld::store::FormatTimestamp;
using bld::store::ParseTimestamp;
using std::chrono::system_clock;

namespace {

system_clock::time_point At(int64_t seconds, int64_t nanos = 0) {
  return system_clock::time_point(
      std::chrono::duration_cast<system_clock::duration>(std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

}  // namespace

TEST_CASE("whole seconds are written without a fraction") {
  CHECK(FormatTimestamp(At(0)) == "1970-01-01T00:00:00Z");
  CHECK(FormatTimestamp(At(1767225600)) == "2026-01-01T00:00:00Z");
}

TEST_CASE("a fraction is written to the nanosecond without trailing zeros") {
  CHECK(FormatTimestamp(At(1, 500000000)) == "1970-01-01T00:00:01.5Z");
  CHECK(FormatTimestamp(At(1, 120000000)) == "1970-01-01T00:00:01.12Z");
  CHECK(FormatTimestamp(At(1, 123456789)) == "1970-01-01T00:00:01.123456789Z");
  CHECK(FormatTimestamp(At(1, 1)) == "1970-01-01T00:00:01.000000001Z");
}

TEST_CASE("times before 1970 keep a positive fraction") {
  CHECK(FormatTimestamp(At(-1, 500000000)) == "1969-12-31T23:59:59.5Z");
}

TEST_CASE("timestamps are read with Z or any offset, and any fraction") {
  CHECK(ParseTimestamp("2026-01-01T00:00:00Z") == At(1767225600));
  CHECK(ParseTimestamp("2026-01-01t00:00:00z") == At(1767225600));
  CHECK(ParseTimestamp("2026-01-01T02:00:00.123456789+02:00") == At(1767225600, 123456789));
  CHECK(ParseTimestamp("2025-12-31T19:00:00.5-05:00") == At(1767225600, 500000000));
  CHECK(ParseTimestamp("2026-01-01T00:00:00.1234567891Z") == At(1767225600, 123456789));
}

TEST_CASE("what is not an RFC 3339 timestamp is not read") {
  CHECK_FALSE(ParseTimestamp("2026-01-01"));
  CHECK_FALSE(ParseTimestamp("2026-01-01T00:00:00"));
  CHECK_FALSE(ParseTimestamp("2026-13-01T00:00:00Z"));
  CHECK_FALSE(ParseTimestamp("2026-01-01T00:00:00Zjunk"));
  CHECK_FALSE(ParseTimestamp("2026-01-01T00:00:00.Z"));
  CHECK_FALSE(ParseTimestamp("2026-01-01T00:00:00+0200"));
}

TEST_CASE("what is written reads back as the same instant") {
  for (system_clock::time_point t : {At(0), At(1767225600, 5), At(1700000000, 999999999)})
    CHECK(ParseTimestamp(FormatTimestamp(t)) == t);
}
