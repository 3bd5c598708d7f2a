// How bld shows a Dockerfile error: as BuildKit does, the file and line, the
// lines around it with the failing one marked, then the message.
#pragma once

#include "parser/parse_error.h"

namespace bld::cli {

// source: the Dockerfile text, when the caller has it.
void PrintParseError(const parser::ParseError& e, const std::string* source = nullptr);

// The same report for any error tied to a place in the Dockerfile.
void PrintLocatedError(const parser::SourceLocation& at, const std::string& message,
                       const std::string* source = nullptr);

}  // namespace bld::cli
