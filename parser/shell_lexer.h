// Shell-word expansion of Dockerfile instruction arguments, as BuildKit does it.
//
// FROM, COPY, ENV, WORKDIR and the other instructions that expand variables do
// not run a shell: BuildKit's frontend/dockerfile/shell lexer removes quotes and
// escapes and substitutes $VAR, ${VAR} and the ${VAR<modifier>word} forms itself.
// The result is part of every cache key, so bld reproduces that lexer's output
// exactly, quirks included, on any input: the same words, the same variables
// reported as used, and errors where it fails (with its messages). Expansion is
// linear in the input except pattern matching (${V#p}, ${V/p/r}), which is
// O(value length x pattern length); stack use is bounded by a cap on nesting.
//
// Supported: 'single' and "double" quotes; the escape token (\ or ` from the
// Dockerfile's escape directive); $VAR and ${VAR}; ${V:-w} ${V-w} ${V:+w} ${V+w}
// ${V:?msg} ${V?msg}; ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r} with
// shell patterns (* and ?, no brackets); words nested inside modifiers.
// Positional and special parameters ($1, $@, $#, ...) are looked up like any
// name, so they expand to empty. There is no command substitution or arithmetic.
//
// Where bld differs from BuildKit, on purpose:
//  - nesting deeper than kMaxNesting ${...} levels is an ExpandError (BuildKit
//    recurses without limit on Go's growable stack);
//  - "${V" ending the input says "syntax error: missing '}'" where BuildKit says
//    "unsupported modifier (\uFFFD) in substitution";
//  - with skip_unset_env, an unset ${V//p/r} is kept as written, where BuildKit
//    drops one '/' and so turns it into ${V/p/r};
//  - a bad pattern is named as written (BuildKit prints a %-pattern reversed),
//    and one ending in a lone '\' says so instead of printing U+FFFD.
//
// Thread safety: a ShellLexer is immutable and keeps no state between calls,
// so one instance may be used from many threads at once.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bld::parser {

// The variables in scope (build args and ENV). Names are case-sensitive.
using VarMap = std::map<std::string, std::string, std::less<>>;

// A word that cannot be expanded. what() is BuildKit's message, e.g.
// `failed to process "${VAR:?is required}": VAR: is required`.
class ExpandError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ExpandResult {
  std::string word;
  std::set<std::string> matched;    // names referenced and set (possibly to "")
  std::set<std::string> unmatched;  // names referenced and not set
};

struct LexOptions {
  char escape = '\\';           // the Dockerfile's escape token: '\\' or '`'
  bool raw_quotes = false;      // keep quote characters in the output (BuildKit RawQuotes)
  bool raw_escapes = false;     // keep escape characters in the output (BuildKit RawEscapes)
  bool skip_unset_env = false;  // leave $UNSET as written (BuildKit SkipUnsetEnv)
};

class ShellLexer {
 public:
  // Nested ${...} levels allowed in one word. Real Dockerfiles use two or three
  // (${TARGETVARIANT:+-${TARGETVARIANT}}). 256 levels take about 220 KiB of
  // stack in a release build and 1.8 MiB under AddressSanitizer, well inside
  // the 8 MiB a Linux thread gets by default.
  static constexpr int kMaxNesting = 256;

  // Throws std::invalid_argument if options.escape is neither '\\' nor '`'.
  explicit ShellLexer(LexOptions options = {});

  // One output string, no word splitting (ENV, LABEL, WORKDIR, USER, ...).
  std::string ProcessWord(std::string_view word, const VarMap& env) const;

  // Expands, then splits into words: whitespace from unquoted text and from
  // expansions splits, quoted and escaped whitespace does not, and an empty
  // word ("") disappears (FROM, COPY, ADD, EXPOSE, VOLUME, ARG, ...).
  std::vector<std::string> ProcessWords(std::string_view word, const VarMap& env) const;

  // ProcessWord plus the variable names it referenced, found and not found;
  // used to lint for undefined variables.
  ExpandResult ProcessWordWithMatches(std::string_view word, const VarMap& env) const;

 private:
  LexOptions options_;
};

}  // namespace bld::parser
