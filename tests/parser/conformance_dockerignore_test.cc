// moby/patternmatcher's own test vectors (shared/conformance/dockerignore, see
// its README section 3), run against ReadIgnoreFile, PatternMatcher and
// LegacyMatches. Every vector is run; a failure names its file and line.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "parser/dockerignore.h"
#include "parser/utf8.h"

namespace bld::parser {
namespace {

std::filesystem::path VectorPath(const std::string& name) {
  return std::filesystem::path(BLD_CONFORMANCE_DIR) / "dockerignore" / name;
}

// The whole file. A missing file fails the test: these vectors are the
// evidence that bld leaves out of a context what Docker leaves out.
std::string ReadVectorFile(const std::string& name) {
  std::ifstream in(VectorPath(name), std::ios::binary);
  if (!in) FAIL("cannot open conformance vectors " << VectorPath(name).string() << " (BLD_CONFORMANCE_DIR must hold dockerignore/)");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> Split(std::string_view s, char separator) {
  std::vector<std::string> parts;
  size_t begin = 0;
  for (size_t end; (end = s.find(separator, begin)) != std::string_view::npos; begin = end + 1) {
    parts.emplace_back(s.substr(begin, end - begin));
  }
  parts.emplace_back(s.substr(begin));
  return parts;
}

struct Row {
  std::string where;  // "<file>:<line number>"
  std::vector<std::string> cells;
};

// The data rows of a TSV file: lines starting with '#' are headers.
std::vector<Row> ReadTsv(const std::string& name) {
  std::vector<Row> rows;
  int number = 0;
  for (const std::string& line : Split(ReadVectorFile(name), '\n')) {
    ++number;
    if (line.empty() || line.starts_with('#')) continue;
    rows.push_back({name + ":" + std::to_string(number), Split(line, '\t')});
  }
  return rows;
}

// The JSON the cells hold: a string, or an array of strings. Throws
// std::runtime_error on anything else.
class JsonCell {
 public:
  explicit JsonCell(std::string_view text) : text_(text) {}

  std::string String() {
    const std::string value = ParseString();
    ExpectEnd();
    return value;
  }

  std::vector<std::string> StringArray() {
    std::vector<std::string> values;
    Expect('[');
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
    } else {
      while (true) {
        values.push_back(ParseString());
        SkipSpace();
        if (Peek() == ']') {
          ++pos_;
          break;
        }
        Expect(',');
      }
    }
    ExpectEnd();
    return values;
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void SkipSpace() {
    while (Peek() == ' ') ++pos_;
  }
  void Expect(char c) {
    SkipSpace();
    if (Peek() != c) throw std::runtime_error("bad JSON cell: " + std::string(text_));
    ++pos_;
  }
  void ExpectEnd() {
    SkipSpace();
    if (pos_ != text_.size()) throw std::runtime_error("bad JSON cell: " + std::string(text_));
  }
  unsigned Hex4() {
    if (pos_ + 4 > text_.size()) throw std::runtime_error("bad JSON escape in " + std::string(text_));
    const unsigned value = std::stoul(std::string(text_.substr(pos_, 4)), nullptr, 16);
    pos_ += 4;
    return value;
  }
  std::string ParseString() {
    Expect('"');
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) throw std::runtime_error("unterminated JSON string: " + std::string(text_));
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      const char escaped = text_[pos_++];
      switch (escaped) {
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          char32_t r = Hex4();
          if (r >= 0xD800 && r < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            r = 0x10000 + ((r - 0xD800) << 10) + (Hex4() - 0xDC00);
          }
          utf8::AppendRune(out, r);
          break;
        }
        default: out += escaped;  // " \ /
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// filepath.Dir for the shapes of path these vectors hold (no "." or ".."
// elements, no doubled slashes): the part before the last slash, without its
// trailing slashes; "." when there is none, "/" for the root.
std::string ParentOf(const std::string& path) {
  REQUIRE(path.find("//") == std::string::npos);
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The result of MatchesUsingParentResults when the walk goes through every
// directory of filepath.Dir(path) first, as the Go test does.
bool ExcludedByWalk(const PatternMatcher& matcher, const std::string& path) {
  PatternMatcher::MatchInfo parent;
  const std::string dir = ParentOf(path);
  if (dir != ".") {
    for (size_t end = dir.find('/');; end = dir.find('/', end + 1)) {
      parent = matcher.Match(dir.substr(0, end), parent);
      if (end == std::string::npos) break;
    }
  }
  return matcher.Match(path, parent).excluded();
}

std::optional<bool> ParseExpect(const std::string& cell) {
  if (cell == "error") return std::nullopt;
  REQUIRE((cell == "true" || cell == "false"));
  return cell == "true";
}

const char* KindName(PatternMatcher::MatchKind kind) {
  switch (kind) {
    case PatternMatcher::MatchKind::kExact: return "exactMatch";
    case PatternMatcher::MatchKind::kPrefix: return "prefixMatch";
    case PatternMatcher::MatchKind::kSuffix: return "suffixMatch";
    case PatternMatcher::MatchKind::kRegexp: return "regexpMatch";
  }
  return "?";
}

}  // namespace

// MatchesOrParentMatches rows run through Excluded, through Match after a
// walk of the parent directories, and through Match with no parent result.
// Go's test also runs the deprecated single-bool MatchesUsingParentResult on
// the single-pattern rows; with one pattern it computes "parent matched, or
// the pattern matches the path", the same as the walk, so the walk covers it.
TEST_CASE("patternmatcher vectors: MatchesOrParentMatches and the parent-result walks") {
  int rows = 0;
  int errors = 0;
  for (const Row& row : ReadTsv("matches.tsv")) {
    INFO(row.where);
    REQUIRE(row.cells.size() == 5);
    if (row.cells[0] != "MatchesOrParentMatches") continue;
    ++rows;
    const std::vector<std::string> patterns = JsonCell(row.cells[1]).StringArray();
    const std::string path = JsonCell(row.cells[2]).String();
    const std::optional<bool> expect = ParseExpect(row.cells[3]);
    std::optional<PatternMatcher> matcher;
    REQUIRE_NOTHROW(matcher.emplace(patterns));
    if (!expect) {
      ++errors;
      CHECK_THROWS_AS(matcher->Excluded(path), IgnoreError);
      CHECK_THROWS_AS(matcher->Excluded(path), IgnoreError);  // and again, as Docker's test does
      CHECK_THROWS_AS(matcher->Match(path, {}), IgnoreError);
      continue;
    }
    CHECK(matcher->Excluded(path) == *expect);
    CHECK(ExcludedByWalk(*matcher, path) == *expect);
    CHECK(matcher->Match(path, {}).excluded() == *expect);
  }
  CHECK(rows == 73);
  CHECK(errors == 1);
}

TEST_CASE("patternmatcher vectors: the deprecated package-level Matches") {
  int rows = 0;
  int errors = 0;
  for (const Row& row : ReadTsv("matches.tsv")) {
    INFO(row.where);
    REQUIRE(row.cells.size() == 5);
    if (row.cells[0] != "Matches") continue;
    ++rows;
    const std::vector<std::string> patterns = JsonCell(row.cells[1]).StringArray();
    const std::string path = JsonCell(row.cells[2]).String();
    const std::optional<bool> expect = ParseExpect(row.cells[3]);
    if (!expect) {
      ++errors;
      CHECK_THROWS_AS(LegacyMatches(path, patterns), IgnoreError);
      continue;
    }
    CHECK(LegacyMatches(path, patterns) == *expect);
  }
  CHECK(rows == 65);
  CHECK(errors == 17);
}

// compile.tsv gives Docker's match kind and, for regexp patterns, the exact
// regexp for the '/' separator (the '\' column is Windows only).
TEST_CASE("patternmatcher vectors: match kind and regexp of each pattern") {
  int rows = 0;
  for (const Row& row : ReadTsv("compile.tsv")) {
    INFO(row.where);
    REQUIRE(row.cells.size() == 4);
    ++rows;
    const std::string pattern = JsonCell(row.cells[0]).String();
    const PatternMatcher matcher({pattern});
    REQUIRE(matcher.patterns().size() == 1);
    const PatternMatcher::Pattern& compiled = matcher.patterns().front();
    CHECK(KindName(compiled.kind) == row.cells[1]);
    if (row.cells[2] == "-") {
      CHECK(compiled.regexp.empty());
    } else {
      CHECK(compiled.regexp == row.cells[2]);
    }
  }
  CHECK(rows == 21);
}

TEST_CASE("patternmatcher vectors: what New keeps and rejects") {
  int rows = 0;
  for (const Row& row : ReadTsv("new_patterns.tsv")) {
    INFO(row.where);
    REQUIRE(row.cells.size() == 3);
    ++rows;
    const std::vector<std::string> patterns = JsonCell(row.cells[0]).StringArray();
    const std::string& result = row.cells[1];
    if (result.starts_with("error")) {
      CHECK_THROWS_AS(PatternMatcher(patterns), IgnoreError);
      continue;
    }
    REQUIRE(result.starts_with("ok"));
    const PatternMatcher matcher(patterns);
    // "ok; 2 patterns ..." gives the count; other rows do not.
    if (result.starts_with("ok; ") && result.size() > 4 && std::isdigit(static_cast<unsigned char>(result[4]))) {
      CHECK(matcher.patterns().size() == std::stoul(result.substr(4)));
    }
    CHECK(matcher.HasExclusions() == (result.find("Exclusions()=true") != std::string::npos));
  }
  CHECK(rows == 7);
}

TEST_CASE("ignorefile vectors: ReadAll of a .dockerignore") {
  const std::string content = ReadVectorFile("ignorefile_readall.dockerignore");
  std::vector<std::string> expected = Split(ReadVectorFile("ignorefile_readall.expected"), '\n');
  if (!expected.empty() && expected.back().empty()) expected.pop_back();  // the final newline
  const std::vector<std::string> actual = ReadIgnoreFile(content);
  REQUIRE(expected.size() == 7);
  CHECK(actual.size() == expected.size());
  for (size_t i = 0; i < expected.size() && i < actual.size(); ++i) {
    INFO("ignorefile_readall.expected:" << i + 1);
    CHECK(actual[i] == expected[i]);
  }
}

}  // namespace bld::parser
