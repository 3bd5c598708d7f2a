#include "cli/table_format.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace bld::cli {

namespace {

// text/tabwriter.NewWriter(out, 10, 1, 3, ' ', 0), as docker's formatter.
constexpr size_t kMinColumnWidth = 10;
constexpr size_t kColumnPadding = 3;
constexpr double kUnitStep = 1000;
constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kHoursPerDay = 24;

// Characters as text/tabwriter counts them: UTF-8 code points.
size_t Width(std::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

}  // namespace

std::string HumanSize(uint64_t bytes, int precision) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  while (size >= kUnitStep && unit + 1 < std::size(kUnits)) {
    size /= kUnitStep;
    ++unit;
  }
  // C's %g and Go's %g agree, exponent form ("1e+03kB") included.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", precision, size, kUnits[unit]);
  return buf;
}

std::string HumanDuration(int64_t seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < kMinute) return std::to_string(seconds) + " seconds";
  int64_t minutes = seconds / kMinute;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  // Hours are rounded, the other units truncated, as in go-units.
  auto hours = static_cast<int64_t>(static_cast<double>(seconds) / kHour + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 2 * kHoursPerDay) return std::to_string(hours) + " hours";
  if (hours < kHoursPerDay * 7 * 2) return std::to_string(hours / kHoursPerDay) + " days";
  if (hours < kHoursPerDay * 30 * 2) return std::to_string(hours / kHoursPerDay / 7) + " weeks";
  if (hours < kHoursPerDay * 365 * 2) return std::to_string(hours / kHoursPerDay / 30) + " months";
  return std::to_string(seconds / kHour / kHoursPerDay / 365) + " years";
}

std::string Ellipsis(std::string_view text, size_t width) {
  if (Width(text) <= width) return std::string(text);
  if (width == 0) return "";
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    bool starts_char = (static_cast<unsigned char>(text[i]) & 0xc0) != 0x80;
    if (starts_char && ++chars == width) break;
    out += text[i];
  }
  return out + "…";
}

Table::Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

void Table::AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      if (widths.size() <= c) widths.resize(c + 1, kMinColumnWidth);
      widths[c] = std::max(widths[c], Width(row[c]) + kColumnPadding);
    }
  }
  std::string out;
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out.append(widths[c] - Width(row[c]), ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace bld::cli
