// .dockerignore: which files of a build context are left out, decided exactly
// as Docker does.
//
// What a build can COPY, and so every cache key and every layer, depends on
// this decision, so bld reproduces Docker's code for it rather than a
// look-alike: moby/patternmatcher's ignorefile.ReadAll (ReadIgnoreFile) and
// PatternMatcher (New, MatchesOrParentMatches, MatchesUsingParentResults).
// Patterns follow Go's filepath.Match syntax (* ? [class] \escape) plus **, and
// are evaluated in order: a pattern that matches a path or one of its parent
// directories excludes it, a later !pattern takes it back, a later pattern
// excludes it again. Excluding a directory therefore excludes everything
// under it unless a later ! pattern re-includes some of it.
//
// Docker turns a pattern into a Go regular expression and the quirks of that
// translation are kept: only . + ( ) $ are escaped, so an unescaped | { }
// keeps its regexp meaning (`a|b*` is an alternation, `a{2}*` a repetition);
// a character class or \escape is read with Go regexp syntax ([[:digit:]],
// \d, \b, \Q...\E); a pattern that passes filepath.Match's syntax check but
// that Go's regexp rejects (`[z-a]`) fails only when it is used.
//
// Where bld differs from Docker, on purpose:
//  - Unicode classes in a pattern (\pL, \p{Greek}) are an IgnoreError when the
//    pattern is used, as bld carries no Unicode tables; Docker accepts them;
//  - a line longer than 64 KiB is read, where Docker's reader stops with
//    "token too long";
//  - a pattern whose regexp would exceed Go's size or nesting limits is
//    refused by bld's own count, which tracks Go's closely but not exactly.
//
// Matching is linear in the path length (a Thompson NFA, no backtracking and
// no recursion at match time), and each pattern is compiled once.
//
// Thread safety: a PatternMatcher is immutable after construction; its const
// methods may be called from any number of threads at once.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bld::parser {

// A pattern Docker refuses. what() names the pattern and says what is wrong.
class IgnoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The patterns of an ignore file, as ignorefile.ReadAll returns them: a UTF-8
// BOM is dropped; a line starting with '#' in column 0 is a comment; lines are
// trimmed of white space (CR LF ends a line too) and blank ones dropped; a
// leading '!' is kept and the pattern after it trimmed again; each pattern is
// cleaned as Go's filepath.Clean does and one leading '/' removed, so "/a/./b/"
// is "a/b" and "! /x" is "!x". A lone "!" is returned as is; PatternMatcher
// rejects it.
std::vector<std::string> ReadIgnoreFile(std::string_view content);

class PatternMatcher {
 public:
  // How Docker classifies a pattern; it decides which test runs on a path.
  enum class MatchKind {
    kExact,   // the path equals the pattern
    kPrefix,  // "dir/**": the path starts with "dir/"
    kSuffix,  // "**/name", "**name", "**": the path ends with the rest
    kRegexp,  // anything else: a Go regular expression
  };

  // One pattern as New() keeps it.
  struct Pattern {
    std::string text;        // trimmed and cleaned, without the leading '!'
    bool exclusion = false;  // a '!' pattern, which re-includes what it matches
    MatchKind kind = MatchKind::kExact;
    std::string regexp;      // the regexp Docker builds; empty unless kind is kRegexp
  };

  // The outcome for one path of a tree walk, handed back when matching the
  // entries below it so that their ancestors are not matched again. A
  // default-constructed MatchInfo carries no parent result: Match then also
  // tries the path's ancestors, as Excluded does.
  class MatchInfo {
   public:
    bool excluded() const { return excluded_; }

   private:
    friend class PatternMatcher;
    bool excluded_ = false;
    std::vector<bool> matched_;  // per pattern: it matched this path or an ancestor
  };

  // New(): each pattern is trimmed, empty ones are dropped, the rest cleaned
  // (filepath.Clean), a leading '!' marks an exclusion, and the pattern is
  // checked against filepath.Match's syntax. Throws IgnoreError for a lone "!"
  // or a syntax error (unterminated class, bad range, trailing backslash).
  explicit PatternMatcher(const std::vector<std::string>& patterns);

  // MatchesOrParentMatches: whether `path` is left out of the context. `path`
  // is slash-separated and relative to the context root ("src/main.c"); it
  // is not cleaned, as in Docker. Throws IgnoreError when a pattern that Go's
  // regexp rejects has to be tried.
  bool Excluded(std::string_view path) const;

  // MatchesUsingParentResults: the same decision for `path` given the result
  // for its parent directory (a default MatchInfo for entries of the context
  // root). A walker calls it once per entry, top down. Throws IgnoreError as
  // Excluded does, and std::invalid_argument for a MatchInfo from a matcher
  // with a different number of patterns.
  MatchInfo Match(std::string_view path, const MatchInfo& parent) const;

  // Whether any pattern is a '!' exclusion. When one is, a walker must still
  // descend into excluded directories, since something below may come back.
  bool HasExclusions() const;

  const std::vector<Pattern>& patterns() const;

 private:
  struct Impl;
  friend bool LegacyMatches(std::string_view file, const std::vector<std::string>& patterns);

  std::shared_ptr<const Impl> impl_;
};

// The deprecated package-level patternmatcher.Matches, kept for the conformance
// vectors only: it cleans `file` (never excluding "."), and its parent check
// tries the single ancestor with as many components as the pattern.
bool LegacyMatches(std::string_view file, const std::vector<std::string>& patterns);

// The ignore file of a build: "<Dockerfile path>.dockerignore" (for example
// docker/app.Dockerfile.dockerignore) takes precedence over
// "<context_dir>/.dockerignore"; nullopt when neither is a regular file.
// `dockerfile` is the Dockerfile's path as opened; pass an empty path when the
// Dockerfile does not come from a file (read from stdin). Throws
// std::filesystem::filesystem_error when a candidate cannot be examined.
std::optional<std::filesystem::path> FindIgnoreFile(const std::filesystem::path& context_dir,
                                                    const std::filesystem::path& dockerfile);

}  // namespace bld::parser
