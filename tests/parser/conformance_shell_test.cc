// BuildKit's own shell-lexer test vectors (shared/conformance/shell, see its
// README section 2), run against ShellLexer. Every vector is run except the
// Windows-only (W) rows; a failure names the vector's file and line.
#include <catch2/catch.hpp>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "parser/shell_lexer.h"
#include "parser/utf8.h"

namespace bld::parser {
namespace {

struct Line {
  std::string where;  // "<file>:<line number>"
  std::string text;
};

// The lines of a conformance file. A missing file fails the test: these
// vectors are the evidence that bld expands words as Docker does.
std::vector<Line> ReadVectorFile(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(BLD_CONFORMANCE_DIR) / "shell" / name;
  std::ifstream in(path);
  if (!in) FAIL("cannot open conformance vectors " << path.string() << " (BLD_CONFORMANCE_DIR must hold shell/)");
  std::vector<Line> lines;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) lines.push_back({name + ":" + std::to_string(number), text});
  return lines;
}

// Go's strings.TrimSpace for the ASCII padding these files use.
std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

std::string_view TrimLeadingSpaces(std::string_view s) {
  const size_t begin = s.find_first_not_of(' ');
  return begin == std::string_view::npos ? std::string_view() : s.substr(begin);
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

// The JSON this file's cells hold: strings, arrays of strings and objects of
// strings. Throws std::runtime_error on anything else.
class JsonCell {
 public:
  explicit JsonCell(std::string_view text) : text_(text) {}

  std::string String() {
    SkipSpace();
    Expect('"');
    std::string out;
    while (true) {
      const char c = Take();
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      switch (const char e = Take()) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          char32_t r = Hex4();
          if (r >= 0xD800 && r <= 0xDBFF) {
            Expect('\\');
            Expect('u');
            r = 0x10000 + ((r - 0xD800) << 10) + (Hex4() - 0xDC00);
          }
          utf8::AppendRune(out, r);
          break;
        }
        default: throw std::runtime_error(std::string("bad JSON escape \\") + e);
      }
    }
  }

  std::vector<std::string> StringArray() {
    std::vector<std::string> out;
    SkipSpace();
    Expect('[');
    if (SkipSpace(), Peek() == ']') return Take(), out;
    do out.push_back(String());
    while (SkipSpace(), TakeIf(','));
    Expect(']');
    return out;
  }

  VarMap StringObject() {
    VarMap out;
    SkipSpace();
    Expect('{');
    if (SkipSpace(), Peek() == '}') return Take(), out;
    do {
      std::string key = String();
      SkipSpace();
      Expect(':');
      out[key] = String();
    } while (SkipSpace(), TakeIf(','));
    Expect('}');
    return out;
  }

  // Throws unless only white space is left.
  void End() {
    SkipSpace();
    if (pos_ != text_.size()) throw std::runtime_error("text after the JSON value");
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  char Take() {
    if (pos_ == text_.size()) throw std::runtime_error("JSON ends early");
    return text_[pos_++];
  }
  bool TakeIf(char c) { return Peek() == c && (++pos_, true); }
  void Expect(char c) {
    if (Take() != c) throw std::runtime_error(std::string("JSON: expected ") + c);
  }
  void SkipSpace() {
    while (Peek() == ' ' || Peek() == '\t') ++pos_;
  }
  char32_t Hex4() {
    char32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = Take();
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) throw std::runtime_error("bad \\u escape");
      value = value * 16 + static_cast<char32_t>(digit);
    }
    return value;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::string ParseJsonString(std::string_view cell) {
  JsonCell json(cell);
  std::string value = json.String();
  json.End();
  return value;
}

}  // namespace

// envVarTest: "PLATFORM | INPUT | EXPECTED" through ProcessWord with the env of
// BuildKit's TestShellParser4EnvVars.
TEST_CASE("ProcessWord reproduces BuildKit's envVarTest vectors") {
  const std::vector<Line> lines = ReadVectorFile("envVarTest");
  const VarMap env{{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}};
  const ShellLexer lexer;
  int run = 0;
  int skipped_windows = 0;
  for (const Line& line : lines) {
    if (line.text.starts_with('#')) continue;
    const std::string_view text = TrimSpace(line.text);
    if (text.empty()) continue;
    INFO(line.where << ": " << line.text);
    const std::vector<std::string> fields = Split(text, '|');
    REQUIRE(fields.size() == 3);
    const std::string_view platform = TrimSpace(fields[0]);
    const std::string input(TrimSpace(fields[1]));
    const std::string expected(TrimSpace(fields[2]));
    REQUIRE((platform == "A" || platform == "U" || platform == "W"));
    if (platform == "W") {
      ++skipped_windows;
      continue;
    }
    ++run;
    if (expected == "error") {
      CHECK_THROWS_AS(lexer.ProcessWord(input, env), ExpandError);
    } else {
      CHECK(lexer.ProcessWord(input, env) == expected);
    }
  }
  CHECK(run == 228);
  CHECK(skipped_windows == 2);
}

// wordsTest: "ENV name=value" lines build up the env; "INPUT | w1,w2,..." lines
// go through ProcessWords, as in BuildKit's TestShellParser4Words.
TEST_CASE("ProcessWords reproduces BuildKit's wordsTest vectors") {
  const std::vector<Line> lines = ReadVectorFile("wordsTest");
  VarMap env;
  const ShellLexer lexer;
  int run = 0;
  for (const Line& line : lines) {
    if (line.text.starts_with('#')) continue;
    INFO(line.where << ": " << line.text);
    if (line.text.starts_with("ENV ")) {
      const std::string_view entry = TrimLeadingSpaces(std::string_view(line.text).substr(3));
      const size_t equals = entry.find('=');
      REQUIRE(equals != std::string_view::npos);
      env[std::string(entry.substr(0, equals))] = std::string(entry.substr(equals + 1));
      continue;
    }
    const std::vector<std::string> sides = Split(line.text, '|');
    REQUIRE(sides.size() == 2);
    const std::string input(TrimSpace(sides[0]));
    const std::vector<std::string> expected = Split(TrimLeadingSpaces(sides[1]), ',');
    ++run;
    std::vector<std::string> words;
    try {
      words = lexer.ProcessWords(input, env);
    } catch (const ExpandError&) {
      words = {"error"};
    }
    CHECK(words == expected);
  }
  CHECK(run == 24);
}

// process_with_matches.tsv: ProcessWordWithMatches, with the exact sets of
// variable names found and not found.
TEST_CASE("ProcessWordWithMatches reproduces BuildKit's TestProcessWithMatches vectors") {
  const std::vector<Line> lines = ReadVectorFile("process_with_matches.tsv");
  const ShellLexer lexer;
  int run = 0;
  for (const Line& line : lines) {
    if (line.text.starts_with('#')) continue;
    INFO(line.where << ": " << line.text);
    const std::vector<std::string> cells = Split(line.text, '\t');
    REQUIRE(cells.size() == 6);
    std::string input;
    VarMap env;
    try {
      input = ParseJsonString(cells[0]);
      JsonCell env_json(cells[1]);
      env = env_json.StringObject();
      env_json.End();
    } catch (const std::runtime_error& e) {
      FAIL("unreadable vector: " << e.what());
    }
    const std::string& expect = cells[2];
    REQUIRE((expect == "ok" || expect == "error"));
    ++run;

    if (expect == "error") {
      constexpr std::string_view kContains = "error message contains ";
      std::string message_part;
      if (cells[3].starts_with(kContains)) message_part = ParseJsonString(cells[3].substr(kContains.size()));
      try {
        lexer.ProcessWordWithMatches(input, env);
        FAIL_CHECK("no ExpandError for " << input);
      } catch (const ExpandError& e) {
        CHECK_THAT(e.what(), Catch::Matchers::Contains(message_part));
      }
      continue;
    }

    const ExpandResult result = lexer.ProcessWordWithMatches(input, env);
    CHECK(result.word == ParseJsonString(cells[3]));
    if (cells[4] != "-") {
      JsonCell matched(cells[4]);
      const std::vector<std::string> names = matched.StringArray();
      CHECK(result.matched == std::set<std::string>(names.begin(), names.end()));
    }
    if (cells[5] != "-") {
      JsonCell unmatched(cells[5]);
      const std::vector<std::string> names = unmatched.StringArray();
      CHECK(result.unmatched == std::set<std::string>(names.begin(), names.end()));
    }
  }
  CHECK(run == 56);
}

}  // namespace bld::parser
