#include "cli/error_report.h"

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace bld::cli {

namespace {
// Lines of context shown above and below the failing instruction.
constexpr int kContextLines = 2;
}  // namespace

void PrintParseError(const parser::ParseError& e, const std::string* source) {
  PrintLocatedError(e.where(), e.what(), source);
}

void PrintLocatedError(const parser::SourceLocation& at, const std::string& message, const std::string* source) {
  std::string file = at.file.empty() ? "Dockerfile" : at.file;
  if (at.line <= 0) {
    std::fprintf(stderr, "Error: %s: %s\n", file.c_str(), message.c_str());
    return;
  }
  int last = at.end_line > at.line ? at.end_line : at.line;
  if (source) {
    std::vector<std::string_view> lines;
    std::string_view rest = *source;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      lines.push_back(rest.substr(0, nl));
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    std::fprintf(stderr, "%s:%d\n--------------------\n", file.c_str(), at.line);
    int from = std::max(1, at.line - kContextLines);
    int to = std::min(static_cast<int>(lines.size()), last + kContextLines);
    for (int n = from; n <= to; ++n) {
      bool marked = n >= at.line && n <= last;
      std::string_view text = lines[n - 1];
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      std::fprintf(stderr, " %3d | %s %.*s\n", n, marked ? ">>>" : "   ", static_cast<int>(text.size()),
                   text.data());
    }
    std::fprintf(stderr, "--------------------\n");
  }
  std::string where = file + ":" + std::to_string(at.line);
  if (at.column > 0) where += ":" + std::to_string(at.column);
  std::fprintf(stderr, "Error: %s: %s\n", where.c_str(), message.c_str());
}

}  // namespace bld::cli
