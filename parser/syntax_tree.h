// Dockerfile text -> a flat list of instruction nodes, exactly as BuildKit's
// parser splits it, before any instruction is interpreted.
//
// This layer owns the lexical rules of the file: parser directives in the
// leading comment block, the UTF-8 BOM, comments (also between continuation
// lines), line continuation with the escape character, the JSON/shell form of
// each instruction, `--flags` before the arguments and heredoc bodies. What
// the arguments mean is instructions.h's business.
//
// Thread-safety: pure functions; safe to call concurrently.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parser/parse_error.h"

namespace bld::parser {

struct Directives {
  char escape = '\\';
  std::map<std::string, std::string> values;  // lower-case key -> value, as written
};

struct Heredoc {
  std::string name;     // the delimiter, quotes removed
  std::string content;  // the body, each line ending in '\n'; tabs stripped for <<-
  bool expand = true;   // false when any part of the delimiter was quoted
  bool chomp = false;   // <<- : leading tabs stripped from the body
  int fd = 0;           // the N of N<<EOF
};

struct Warning {
  int line = 0;
  std::string message;
};

// One instruction as written. `args` follow the rules of `bld parse`: the
// JSON array's strings, the shell-form text as one string, or the words.
struct Node {
  std::string keyword;     // as written, e.g. "run" or "RUN"
  std::string original;    // the instruction's text with continuations joined
  std::vector<std::string> flags;  // `--name=value` words, quotes removed
  std::vector<std::string> args;
  bool json_form = false;
  std::vector<Heredoc> heredocs;
  std::unique_ptr<Node> child;  // ONBUILD's nested instruction
  int line = 0;
  int end_line = 0;
  bool known = true;  // false for an unknown keyword (instructions.cc reports it)
  // For HEALTHCHECK: args[0] is CMD/NONE and the command follows.
};

struct SyntaxTree {
  Directives directives;
  std::vector<Node> nodes;
  std::vector<Warning> warnings;
  std::shared_ptr<const std::string> source;  // the text, for error reports
};

// Parses Dockerfile text. file_name is used in error locations. Throws
// ParseError.
SyntaxTree ParseSyntaxTree(std::string_view text, const std::string& file_name);

// Splits argument text into words the way Docker does for ENV, LABEL and ARG:
// on unquoted whitespace, keeping quotes and escapes in the words.
std::vector<std::string> SplitWords(std::string_view text, char escape);

// True for the Unicode white space Go's unicode.IsSpace accepts, at s[i];
// *len receives the byte length of the character there.
bool IsSpaceAt(std::string_view s, size_t i, size_t* len);

}  // namespace bld::parser
