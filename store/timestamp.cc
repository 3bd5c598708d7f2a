#include "store/timestamp.h"

#include <cstdint>
#include <cstdio>
#include <ctime>

namespace bld::store {

namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

}  // namespace

std::string FormatTimestamp(std::chrono::system_clock::time_point time) {
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  auto secs = static_cast<time_t>(ns / kNanosPerSecond);
  int64_t frac = ns % kNanosPerSecond;
  if (frac < 0) {
    secs -= 1;
    frac += kNanosPerSecond;
  }
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out(buf, n);
  if (frac != 0) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(frac));
    std::string fraction = buf;
    while (fraction.back() == '0') fraction.pop_back();
    out += fraction;
  }
  return out + "Z";
}

std::optional<std::chrono::system_clock::time_point> ParseTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); 't' and 'z' as RFC 3339 allows.
  size_t pos = 0;
  auto number = [&](size_t digits, int& out) {
    if (pos + digits > text.size()) return false;
    out = 0;
    for (size_t i = 0; i < digits; ++i) {
      char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    pos += digits;
    return true;
  };
  auto literal = [&](std::string_view chars) {
    if (pos >= text.size() || chars.find(text[pos]) == std::string_view::npos) return false;
    ++pos;
    return true;
  };
  tm t{};
  int year, month, day, hour, minute, second;
  if (!number(4, year) || !literal("-") || !number(2, month) || !literal("-") || !number(2, day) ||
      !literal("Tt") || !number(2, hour) || !literal(":") || !number(2, minute) || !literal(":") ||
      !number(2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = kNanosPerSecond;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      // Digits past the ninth are below what a time_point holds.
      if (scale > 1) {
        scale /= 10;
        nanos += (text[pos] - '0') * scale;
      }
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset_seconds = 0;
  if (literal("Zz")) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!number(2, oh) || !literal(":") || !number(2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = minute;
  t.tm_sec = second;
  auto seconds = std::chrono::seconds(static_cast<int64_t>(timegm(&t)) - offset_seconds);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(seconds + std::chrono::nanoseconds(nanos)));
}

}  // namespace bld::store
