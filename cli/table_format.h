// How bld prints tables, sizes and ages: exactly as docker's CLI prints
// them (go-units for sizes and durations, text/tabwriter with docker's
// settings for columns), so that what users read, and what their scripts cut
// out of the output, is the same with either tool.
//
// Thread safety: the functions keep no state; a Table belongs to one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bld::cli {

// units.HumanSizeWithPrecision: decimal units (B, kB, MB, GB, ...) with
// `precision` significant digits. `bld images` and `bld history` use 3
// ("4.86MB"), as docker's do; prune's total uses 4, as docker's HumanSize.
std::string HumanSize(uint64_t bytes, int precision = 3);

// units.HumanDuration: "Less than a second", "1 second", "About a minute",
// "5 minutes", "About an hour", "2 hours", "3 days", "2 weeks", "4 months",
// "2 years".
std::string HumanDuration(int64_t seconds);

// Cuts `text` to at most `width` characters (UTF-8 code points), ending
// with "…" when cut, as docker's formatter.Ellipsis does for CREATED BY.
std::string Ellipsis(std::string_view text, size_t width);

// Columns as docker's tables: text/tabwriter with minwidth 10, padding 3,
// padded with spaces. Every column but the last is as wide as its widest
// cell plus 3 (at least 10); the last is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> cells);
  // The header and the rows, each line ending in '\n'.
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace bld::cli
