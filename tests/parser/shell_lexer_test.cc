// ShellLexer behaviour beyond BuildKit's vectors (conformance_shell_test.cc):
// the options, the exact error messages, Unicode, pattern semantics inherited
// from Go's regexp, and hostile input.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "parser/shell_lexer.h"

namespace bld::parser {
namespace {

using Words = std::vector<std::string>;

std::string Expand(std::string_view word, const VarMap& env = {}, LexOptions options = {}) {
  return ShellLexer(options).ProcessWord(word, env);
}

// The message of the ExpandError that expanding `word` throws.
std::string ErrorOf(std::string_view word, const VarMap& env = {}, LexOptions options = {}) {
  try {
    ShellLexer(options).ProcessWord(word, env);
  } catch (const ExpandError& e) {
    return e.what();
  }
  FAIL("no ExpandError for " << word);
  return {};
}

std::string Repeat(std::string_view s, size_t times) {
  std::string out;
  out.reserve(s.size() * times);
  for (size_t i = 0; i < times; ++i) out += s;
  return out;
}

}  // namespace

// --- the escape token -------------------------------------------------------

TEST_CASE("with the backtick escape token, backslashes are literal (Windows paths)") {
  const LexOptions backtick{.escape = '`'};
  CHECK(Expand(R"(C:\Program Files\app)", {}, backtick) == R"(C:\Program Files\app)");
  CHECK(Expand(R"("C:\dir\")", {}, backtick) == R"(C:\dir\)");
}

TEST_CASE("the backtick escape token escapes $, quotes and itself") {
  const LexOptions backtick{.escape = '`'};
  const VarMap env{{"PWD", "/home"}};
  CHECK(Expand("he`$PWD", env, backtick) == "he$PWD");
  CHECK(Expand(R"(\$PWD)", env, backtick) == R"(\/home)");
  CHECK(Expand("a`'b", env, backtick) == "a'b");
  CHECK(Expand("\"a`\"b\"", env, backtick) == "a\"b");
  CHECK(Expand("\"a``b\"", env, backtick) == "a`b");
  CHECK(Expand("\"a`xb\"", env, backtick) == "a`xb");
  CHECK(Expand("a``", env, backtick) == "a`");
  CHECK(Expand("trailing`", env, backtick) == "trailing");
}

TEST_CASE("an escape token other than backslash or backtick is rejected") {
  CHECK_THROWS_AS(ShellLexer(LexOptions{.escape = '^'}), std::invalid_argument);
}

TEST_CASE("inside double quotes the escape token escapes only a quote, $ and itself") {
  const VarMap env{{"X", "x"}};
  CHECK(Expand(R"("a\"b")", env) == R"(a"b)");
  CHECK(Expand(R"("\$X")", env) == "$X");
  CHECK(Expand(R"("\\$X")", env) == R"(\x)");
  CHECK(Expand(R"("\n\'")", env) == R"(\n\')");
}

// --- options ----------------------------------------------------------------

TEST_CASE("raw_quotes keeps the quote characters and still expands inside double quotes") {
  const LexOptions raw{.raw_quotes = true};
  const VarMap env{{"X", "x"}};
  CHECK(Expand(R"('a $X'"b $X")", env, raw) == R"('a $X'"b x")");
  CHECK(ShellLexer(raw).ProcessWords(R"("a b" c)", env) == Words{R"("a b")", "c"});
}

TEST_CASE("raw_escapes keeps escape characters outside quotes") {
  const LexOptions raw{.raw_escapes = true};
  const VarMap env{{"X", "x"}};
  CHECK(Expand(R"(a\ b\$X\\)", env, raw) == R"(a\ b\$X\\)");
  CHECK(Expand(R"(end\)", env, raw) == R"(end\)");
  CHECK(ShellLexer(raw).ProcessWords(R"(a\ b c)", env) == Words{R"(a\ b)", "c"});
}

TEST_CASE("raw_escapes in double quotes doubles an escape that escapes nothing, as BuildKit does") {
  const LexOptions raw{.raw_escapes = true};
  CHECK(Expand(R"("a\"b")", {}, raw) == R"(a\"b)");
  CHECK(Expand(R"("a\b")", {}, raw) == R"(a\\b)");
}

TEST_CASE("skip_unset_env leaves unset variables as written and expands set ones") {
  const LexOptions skip{.skip_unset_env = true};
  const VarMap env{{"SET", "v"}, {"EMPTY", ""}};
  CHECK(Expand("$UNSET-$SET", env, skip) == "$UNSET-v");
  CHECK(Expand("${UNSET}${SET}", env, skip) == "${UNSET}v");
  CHECK(Expand("${UNSET:-$SET}", env, skip) == "${UNSET:-v}");
  CHECK(Expand("${UNSET+x}", env, skip) == "${UNSET+x}");
  CHECK(Expand("${UNSET?must be set}", env, skip) == "${UNSET?must be set}");
  CHECK(Expand("${UNSET##*/}", env, skip) == "${UNSET##*/}");
  CHECK(Expand("${EMPTY:-d}", env, skip) == "d");
  CHECK(Expand("$1", env, skip) == "$1");
}

TEST_CASE("skip_unset_env keeps // of an unset replace-all (BuildKit drops one /)") {
  const LexOptions skip{.skip_unset_env = true};
  CHECK(Expand("${UNSET//a/b}", {}, skip) == "${UNSET//a/b}");
  CHECK(Expand("${UNSET/a/b}", {}, skip) == "${UNSET/a/b}");
}

// --- error messages -----------------------------------------------------------

TEST_CASE("unterminated quotes are errors with BuildKit's messages") {
  CHECK(ErrorOf("'abc") ==
        R"(failed to process "'abc": unexpected end of statement while looking for matching single-quote)");
  CHECK(ErrorOf(R"("abc\")") ==
        R"(failed to process "\"abc\\\"": unexpected end of statement while looking for matching double-quote)");
}

TEST_CASE("malformed ${...} forms are errors with BuildKit's messages") {
  CHECK(ErrorOf("${}") == R"(failed to process "${}": syntax error: bad substitution)");
  CHECK(ErrorOf("${:-x}") == R"(failed to process "${:-x}": syntax error: bad substitution)");
  CHECK(ErrorOf("${{a}") == R"(failed to process "${{a}": syntax error: bad substitution)");
  CHECK(ErrorOf("${") == R"(failed to process "${": syntax error: missing '}')");
  CHECK(ErrorOf("${a:-b") == R"(failed to process "${a:-b": syntax error: missing '}')");
  CHECK(ErrorOf("${a:-\"b}") == R"(failed to process "${a:-\"b}": syntax error: missing '}')");
  CHECK(ErrorOf("${a/b}") == R"(failed to process "${a/b}": syntax error: missing '/' in ${})");
}

TEST_CASE("${NAME at the end of the word says the } is missing") {
  CHECK(ErrorOf("he${PWD") == R"(failed to process "he${PWD": syntax error: missing '}')");
}

TEST_CASE("modifiers BuildKit does not support are errors naming the modifier") {
  CHECK(ErrorOf("${a:=b}") == R"(failed to process "${a:=b}": unsupported modifier (:=) in substitution)");
  CHECK(ErrorOf("${a=b}") == R"(failed to process "${a=b}": unsupported modifier (=) in substitution)");
  CHECK(ErrorOf("${.}") == R"(failed to process "${.}": unsupported modifier (.) in substitution)");
  CHECK(ErrorOf("${a:#b}") == R"(failed to process "${a:#b}": unsupported modifier (:#) in substitution)");
  CHECK(ErrorOf("${#a}") == R"(failed to process "${#a}": unsupported modifier (a) in substitution)");
  CHECK(ErrorOf("${a:1:2}") == R"(failed to process "${a:1:2}": unsupported modifier (:1) in substitution)");
}

TEST_CASE("${VAR?msg} and ${VAR:?msg} fail with the expanded message or Docker's default") {
  const VarMap env{{"EMPTY", ""}, {"WHAT", "a tag"}};
  CHECK(ErrorOf("${VAR:?needs $WHAT}", env) == R"(failed to process "${VAR:?needs $WHAT}": VAR: needs a tag)");
  CHECK(ErrorOf("${VAR?}", env) == R"(failed to process "${VAR?}": VAR: is not allowed to be unset)");
  CHECK(ErrorOf("${EMPTY:?}", env) == R"(failed to process "${EMPTY:?}": EMPTY: is not allowed to be empty)");
  CHECK(Expand("${EMPTY?}", env).empty());
}

TEST_CASE("a pattern with an escape of an ordinary character is an invalid pattern") {
  const VarMap env{{"V", "value"}, {"SLASH", "\\"}};
  CHECK(ErrorOf(R"(${V#\x})", env) ==
        R"(failed to process "${V#\\x}": invalid pattern (\x) in substitution: invalid escape '\x')");
  CHECK_THROWS_WITH(Expand("${V#$SLASH}", env), Catch::Contains("invalid pattern (\\) in substitution"));
  CHECK_THROWS_WITH(Expand("${V%%x$SLASH}", env), Catch::Contains("invalid pattern (x\\) in substitution"));
}

TEST_CASE("error messages quote the word as Go's %q does") {
  CHECK(ErrorOf("a\tb\x01${}") == R"(failed to process "a\tb\x01${}": syntax error: bad substitution)");
  CHECK(ErrorOf("\xff${}") == R"(failed to process "\xff${}": syntax error: bad substitution)");
  CHECK(ErrorOf("한${}") == R"(failed to process "한${}": syntax error: bad substitution)");
}

TEST_CASE("an error inside a nested word is reported as is when the word goes on") {
  CHECK(ErrorOf("${a:-${b?gone}}") == R"(failed to process "${a:-${b?gone}}": b: gone)");
  CHECK(ErrorOf("${a:-${b:=x}}") ==
        R"(failed to process "${a:-${b:=x}}": unsupported modifier (:=) in substitution)");
}

// --- names and parameters -------------------------------------------------------

TEST_CASE("names are case-sensitive runs of Unicode letters, digits and underscores") {
  const VarMap env{{"안녕", "hi"}, {"FOO", "foo"}, {"FOO_1", "foo1"}, {"café", "coffee"}};
  CHECK(Expand("$안녕!", env) == "hi!");
  CHECK(Expand("$FOO_1.$FOO", env) == "foo1.foo");
  CHECK(Expand("$caf$café", env) == "coffee");
  CHECK(Expand("$FOOé", env).empty());
  CHECK(Expand("$foo", env).empty());
}

TEST_CASE("positional and special parameters are looked up by name and so expand to empty") {
  const ShellLexer lexer;
  const ExpandResult result = lexer.ProcessWordWithMatches("$1$@$#${10}$0$$x", {});
  CHECK(result.word == "x");
  CHECK(result.unmatched == std::set<std::string>{"1", "@", "#", "10", "0", "$"});
  CHECK(Expand("$1", {{"1", "one"}}) == "one");
}

TEST_CASE("a $ not followed by a name is literal") {
  CHECK(Expand("a$") == "a$");
  CHECK(Expand("$.$/$ $%") == "$.$/$ $%");
  CHECK(Expand("\"cost: $\"") == "cost: $");
}

TEST_CASE("names referenced inside modifier words are reported too") {
  const ExpandResult result =
      ShellLexer().ProcessWordWithMatches("${A:-${B}}${C:+$D}${E#$F}${G/$H/$I}", {{"C", "c"}, {"E", ""}});
  CHECK(result.matched == std::set<std::string>{"C", "E"});
  CHECK(result.unmatched == std::set<std::string>{"A", "B", "D", "F", "G", "H", "I"});
}

// --- UTF-8 ------------------------------------------------------------------------

TEST_CASE("UTF-8 text passes through quoting and expansion unchanged") {
  const VarMap env{{"KOREAN", "한국어"}};
  CHECK(Expand("'안녕' \"$KOREAN\" 👽\\🚀", env) == "안녕 한국어 👽🚀");
  CHECK(Expand("${KOREAN#한}", env) == "국어");
  CHECK(Expand("${KOREAN%?}", env) == "한국");
  CHECK(Expand("${KOREAN/국/-}", env) == "한-어");
}

TEST_CASE("invalid UTF-8 in the word reads as U+FFFD, as Go's scanner reads it") {
  CHECK(Expand("a\xffz") == "a\xEF\xBF\xBDz");
  CHECK(Expand("\xE0\x80\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("a byte order mark at the start of the word is skipped") {
  CHECK(Expand("\xEF\xBB\xBFword") == "word");
  CHECK(Expand("a\xEF\xBB\xBF") == "a\xEF\xBB\xBF");
}

TEST_CASE("values are copied byte for byte, invalid UTF-8 included") {
  CHECK(Expand("<$V>", {{"V", "\xff\xfe"}}) == "<\xff\xfe>");
}

// --- word splitting -----------------------------------------------------------------

TEST_CASE("ProcessWords splits unquoted expansions and keeps quoted ones whole") {
  const ShellLexer lexer;
  const VarMap env{{"V", " a  b "}, {"E", ""}};
  CHECK(lexer.ProcessWords("x${V}y", env) == Words{"x", "a", "b", "y"});
  CHECK(lexer.ProcessWords("x\"${V}\"y", env) == Words{"x a  b y"});
  CHECK(lexer.ProcessWords("a\\ b 'c d'", env) == Words{"a b", "c d"});
  CHECK(lexer.ProcessWords("  lead   trail  ", env) == Words{"lead", "trail"});
}

TEST_CASE("ProcessWords drops empty words, quoted ones included") {
  const ShellLexer lexer;
  CHECK(lexer.ProcessWords("\"\" '' $E x", {{"E", ""}}) == Words{"x"});
  CHECK(lexer.ProcessWords("", {}).empty());
}

TEST_CASE("ProcessWords splits on Unicode white space, as Go's unicode.IsSpace") {
  const ShellLexer lexer;
  CHECK(lexer.ProcessWords("$V", {{"V", "a\u00A0b\u3000c\u2003d"}}) == Words{"a", "b", "c", "d"});
  CHECK(lexer.ProcessWords("a\u00A0b", {}) == Words{"a", "b"});
  CHECK(lexer.ProcessWords("\"a\u00A0b\"", {}) == Words{"a\u00A0b"});
}

TEST_CASE("ProcessWord keeps white space as it is") {
  CHECK(Expand("  a \t b  ") == "  a \t b  ");
}

// --- patterns ---------------------------------------------------------------------------

TEST_CASE("# and % remove the shortest matching prefix and suffix, ## and %% the longest") {
  const VarMap env{{"P", "/usr/local/bin/tool.tar.gz"}};
  CHECK(Expand("${P#*/}", env) == "usr/local/bin/tool.tar.gz");
  CHECK(Expand("${P##*/}", env) == "tool.tar.gz");
  CHECK(Expand("${P%.*}", env) == "/usr/local/bin/tool.tar");
  CHECK(Expand("${P%%.*}", env) == "/usr/local/bin/tool");
  CHECK(Expand("${P#nomatch}", env) == "/usr/local/bin/tool.tar.gz");
}

TEST_CASE("pattern wildcards do not match a newline, like Go's regexp dot") {
  const VarMap env{{"V", "a\nb/c"}};
  CHECK(Expand("${V##*/}", env) == "a\nb/c");
  CHECK(Expand("${V#?}", env) == "\nb/c");
  CHECK(Expand("${V#a?}", env) == "a\nb/c");
}

TEST_CASE("quotes in a pattern are removed, so quoted wildcards still match anything") {
  CHECK(Expand("${V#\"*\"/}", {{"V", "a/b/c"}}) == "b/c");
}

TEST_CASE("replace-all uses a Go template: $0 is the match, other $names are empty") {
  const VarMap env{{"V", "foo"}, {"R", "[$0|$1|${0}|$$|$x|$]"}};
  CHECK(Expand("${V//o/$R}", env) == "f[o||o|$||$][o||o|$||$]");
  CHECK(Expand("${V/o/$R}", env) == "f[$0|$1|${0}|$$|$x|$]o");
}

TEST_CASE("replace-all with a pattern that matches empty inserts between runes") {
  const VarMap env{{"V", "ab"}, {"E", ""}};
  CHECK(Expand("${V//$E/-}", env) == "-a-b-");
  CHECK(Expand("${V//*/-}", env) == "-");
  CHECK(Expand("${V//?/-}", env) == "--");
}

TEST_CASE("replace takes the earliest match and, at each *, the longest run") {
  const VarMap env{{"V", "xaybyc"}};
  CHECK(Expand("${V/a*y/-}", env) == "x-c");
  CHECK(Expand("${V//y?/-}", env) == "xa--");
}

TEST_CASE("an escaped / or } belongs to the pattern or replacement") {
  const VarMap env{{"V", "a/b}c"}};
  CHECK(Expand(R"(${V//\//:})", env) == "a:b}c");
  CHECK(Expand(R"(${V/\}/\/})", env) == R"(a/b\/c)");
}

// --- hostile input ----------------------------------------------------------------------

TEST_CASE("nesting up to kMaxNesting levels expands") {
  const size_t depth = ShellLexer::kMaxNesting;
  const std::string word = Repeat("${a:-", depth) + "x" + std::string(depth, '}');
  CHECK(Expand(word) == "x");
}

TEST_CASE("nesting deeper than kMaxNesting is an error, not a stack overflow") {
  const size_t depth = ShellLexer::kMaxNesting + 1;
  const std::string word = Repeat("${a:-", depth) + "x" + std::string(depth, '}');
  CHECK_THROWS_WITH(Expand(word), Catch::Contains("${...} nested more than 256 levels deep"));
}

TEST_CASE("10,000 nested ${a:-...} fail fast with a nesting error") {
  constexpr size_t kDepth = 10'000;
  const std::string word = Repeat("${a:-", kDepth) + "x" + std::string(kDepth, '}');
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(Expand(word), Catch::Contains("nested more than"));
  CHECK_THROWS_WITH(ShellLexer().ProcessWords(Repeat("\"${a:-", kDepth), {}), Catch::Contains("nested more than"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

TEST_CASE("long words expand in linear time") {
  constexpr size_t kCount = 100'000;
  const VarMap env{{"A", "a"}};
  const auto start = std::chrono::steady_clock::now();
  CHECK(Expand(Repeat("$A", kCount), env) == std::string(kCount, 'a'));
  CHECK(Expand(Repeat("${B:-b}", kCount), env) == std::string(kCount, 'b'));
  CHECK(ShellLexer().ProcessWords(Repeat("x ", kCount), env).size() == kCount);
  CHECK(Expand(Repeat("$.", kCount)) == Repeat("$.", kCount));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("patterns on long values run without backtracking blow-up") {
  const VarMap env{{"V", std::string(20'000, 'a')}};
  const auto start = std::chrono::steady_clock::now();
  CHECK(Expand("${V//?/b}", env) == std::string(20'000, 'b'));
  CHECK(Expand("${V#*a*a*a*b}", env) == env.at("V"));
  CHECK(Expand("${V%%a*a}", env).empty());
  CHECK(Expand("${V/*b/x}", env) == env.at("V"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

}  // namespace bld::parser
