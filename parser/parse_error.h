// ParseError: a Dockerfile (or .dockerignore) error with its source location.
//
// The parser uses only the standard library, so it has its own error type
// rather than bld::Error; cli renders it BuildKit-style (file, line, the
// surrounding lines with the failing one marked, then the message).
#pragma once

#include <stdexcept>
#include <string>

namespace bld::parser {

struct SourceLocation {
  std::string file;  // as the user named it, e.g. "Dockerfile"
  int line = 0;      // 1-based; 0 when unknown
  int end_line = 0;  // last line of a multi-line instruction; 0 = same as line
  int column = 0;    // 1-based; 0 when unknown
};

class ParseError : public std::runtime_error {
 public:
  ParseError(SourceLocation where, const std::string& message)
      : std::runtime_error(message), where_(std::move(where)) {}
  const SourceLocation& where() const { return where_; }

 private:
  SourceLocation where_;
};

}  // namespace bld::parser
