// The lexical rules of a Dockerfile: directives, comments, continuations,
// forms, flags and heredocs, as BuildKit reads them.
#include <catch2/catch.hpp>

#include "parser/syntax_tree.h"

using bld::parser::Node;
using bld::parser::ParseError;
using bld::parser::ParseSyntaxTree;
using bld::parser::SyntaxTree;

namespace {
SyntaxTree Parse(const std::string& text) { return ParseSyntaxTree(text, "Dockerfile"); }
using Strings = std::vector<std::string>;
}  // namespace

TEST_CASE("directives in the leading comment block are read, keys case-insensitive") {
  SyntaxTree t = Parse("# syntax=docker/dockerfile:1\n#ESCAPE = `\n# check=skip=all\nFROM x\n");
  CHECK(t.directives.values.at("syntax") == "docker/dockerfile:1");
  CHECK(t.directives.values.at("check") == "skip=all");
  CHECK(t.directives.escape == '`');
}

TEST_CASE("a repeated directive is an error") {
  REQUIRE_THROWS_WITH(Parse("# escape=`\n# Escape=\\\nFROM x\n"), "only one escape parser directive can be used");
}

TEST_CASE("an invalid escape directive is an error") {
  REQUIRE_THROWS_WITH(Parse("# escape=x\nFROM x\n"), Catch::Contains("invalid escape token 'x'"));
}

TEST_CASE("directives after the leading comment block are plain comments") {
  CHECK(Parse("FROM x\n# escape=`\n").directives.escape == '\\');
  CHECK(Parse("# a comment\n# escape=`\nFROM x\n").directives.escape == '\\');
  CHECK(Parse("\n# escape=`\nFROM x\n").directives.escape == '\\');
  CHECK(Parse("# unknown=1\n# escape=`\nFROM x\n").directives.escape == '\\');
}

TEST_CASE("a UTF-8 byte order mark is skipped") {
  SyntaxTree t = Parse("\xEF\xBB\xBF# escape=`\nFROM x\n");
  CHECK(t.directives.escape == '`');
  REQUIRE(t.nodes.size() == 1);
  CHECK(t.nodes[0].keyword == "FROM");
}

TEST_CASE("comments and blank lines are skipped and line numbers counted") {
  SyntaxTree t = Parse("# c\n\n   # indented comment\nFROM x\n\nRUN a\n");
  REQUIRE(t.nodes.size() == 2);
  CHECK(t.nodes[0].line == 4);
  CHECK(t.nodes[1].line == 6);
}

TEST_CASE("continuation lines are joined as written, the escape and trailing blanks removed") {
  SyntaxTree t = Parse("FROM x\nRUN echo a \\\n  b\\  \n c\n");
  REQUIRE(t.nodes.size() == 2);
  CHECK(t.nodes[1].args == Strings{"echo a   b c"});
  CHECK(t.nodes[1].line == 2);
  CHECK(t.nodes[1].end_line == 4);
}

TEST_CASE("a line ending in two escapes ends the instruction") {
  SyntaxTree t = Parse("FROM x\nENV C trailing\\\\backslash\\\\\nENV D d\n");
  REQUIRE(t.nodes.size() == 3);
  CHECK(t.nodes[1].args == Strings{"C", "trailing\\\\backslash\\\\"});
  CHECK(t.nodes[1].end_line == 2);
  CHECK(t.nodes[2].args == Strings{"D", "d"});
}

TEST_CASE("an escape alone on a line continues the instruction") {
  SyntaxTree t = Parse("FROM x\nRUN a \\\n\\\n b\n");
  REQUIRE(t.nodes.size() == 2);
  CHECK(t.nodes[1].args == Strings{"a  b"});
}

TEST_CASE("comment lines inside a continuation are dropped") {
  SyntaxTree t = Parse("FROM x\nRUN a \\\n# comment\n    # another\n  b\n");
  CHECK(t.nodes[1].args == Strings{"a   b"});
  CHECK(t.nodes[1].end_line == 5);
  CHECK(t.warnings.empty());
}

TEST_CASE("an empty continuation line gives a warning") {
  SyntaxTree t = Parse("FROM x\nRUN a \\\n\n  b\n");
  CHECK(t.nodes[1].args == Strings{"a   b"});
  REQUIRE(t.warnings.size() == 1);
  CHECK(t.warnings[0].line == 2);
  CHECK_THAT(t.warnings[0].message, Catch::Contains("empty continuation line"));
}

TEST_CASE("the backtick escape directive makes backtick the continuation character") {
  SyntaxTree t = Parse("# escape=`\nFROM x\nRUN dir c:\\ `\n  d\n");
  CHECK(t.nodes[1].args == Strings{"dir c:\\   d"});
}

TEST_CASE("CRLF line endings are accepted") {
  SyntaxTree t = Parse("FROM x\r\nRUN a \\\r\n b\r\n");
  CHECK(t.nodes[1].args == Strings{"a  b"});
}

TEST_CASE("a JSON array is the exec form, anything else the shell form") {
  SyntaxTree t = Parse("FROM x\nCMD [\"a\", \"b c\"]\nCMD [\"a\", \nRUN [not json]\nENTRYPOINT echo [1]\n");
  CHECK(t.nodes[1].json_form);
  CHECK(t.nodes[1].args == Strings{"a", "b c"});
  CHECK_FALSE(t.nodes[2].json_form);
  CHECK(t.nodes[2].args == Strings{"[\"a\","});
  CHECK_FALSE(t.nodes[3].json_form);
  CHECK(t.nodes[3].args == Strings{"[not json]"});
  CHECK_FALSE(t.nodes[4].json_form);
}

TEST_CASE("JSON strings are decoded, and text after the array is ignored as Docker does") {
  SyntaxTree t = Parse("FROM x\nCMD [\"\\u00e9\\n\\\"\"] trailing\n");
  CHECK(t.nodes[1].json_form);
  CHECK(t.nodes[1].args == Strings{"\xC3\xA9\n\""});
}

TEST_CASE("a JSON array holding a non-string is an error") {
  REQUIRE_THROWS_WITH(Parse("FROM x\nCMD [\"a\", 1]\n"),
                      "when using JSON array syntax, arrays must be comprised of strings only");
  REQUIRE_THROWS_AS(Parse("FROM x\nCOPY [\"a\", [\"b\"]]\n"), ParseError);
}

TEST_CASE("an empty JSON array is an exec form with no arguments") {
  SyntaxTree t = Parse("FROM x\nCMD []\n");
  CHECK(t.nodes[1].json_form);
  CHECK(t.nodes[1].args.empty());
}

TEST_CASE("COPY, ADD and VOLUME take a JSON list or whitespace-separated words") {
  SyntaxTree t = Parse("FROM x\nCOPY a  b\t/c/\nVOLUME [\"/a\", \"/b\"]\nADD [\"a b\", \"/c\"]\n");
  CHECK(t.nodes[1].args == Strings{"a", "b", "/c/"});
  CHECK(t.nodes[2].args == Strings{"/a", "/b"});
  CHECK(t.nodes[2].json_form);
  CHECK(t.nodes[3].args == Strings{"a b", "/c"});
}

TEST_CASE("flags come before the arguments, quotes removed, and a bare -- ends them") {
  SyntaxTree t = Parse("FROM x\nCOPY --chown=\"a b\" --link src dst\nRUN --mount=type=cache,target=/x -- --not-a-flag\n");
  CHECK(t.nodes[1].flags == Strings{"--chown=a b", "--link"});
  CHECK(t.nodes[1].args == Strings{"src", "dst"});
  CHECK(t.nodes[2].flags == Strings{"--mount=type=cache,target=/x"});
  CHECK(t.nodes[2].args == Strings{"--not-a-flag"});
}

TEST_CASE("ENV and LABEL give key/value pairs with values exactly as written") {
  SyntaxTree t = Parse("FROM x\nENV A=1 B=\"two words\" C=a\\ b\nENV LEGACY value with spaces\nLABEL \"k\"=v\n");
  CHECK(t.nodes[1].args == Strings{"A", "1", "B", "\"two words\"", "C", "a\\ b"});
  CHECK(t.nodes[2].args == Strings{"LEGACY", "value with spaces"});
  CHECK(t.nodes[3].args == Strings{"\"k\"", "v"});
}

TEST_CASE("ENV with a name and no value is an error") {
  REQUIRE_THROWS_WITH(Parse("FROM x\nENV ONLYNAME\n"), Catch::Contains("ENV must have two arguments"));
  REQUIRE_THROWS_WITH(Parse("FROM x\nENV A=1 B\n"), Catch::Contains("can't find = in \"B\""));
}

TEST_CASE("ARG words are kept whole, quotes included") {
  SyntaxTree t = Parse("ARG abc=\"1 2\" d\nFROM x\n");
  CHECK(t.nodes[0].args == Strings{"abc=\"1 2\"", "d"});
}

TEST_CASE("USER, WORKDIR, MAINTAINER and STOPSIGNAL keep the rest of the line as one string") {
  SyntaxTree t = Parse("FROM x\nWORKDIR /my dir\nMAINTAINER Jane Doe <j@d>\n");
  CHECK(t.nodes[1].args == Strings{"/my dir"});
  CHECK(t.nodes[2].args == Strings{"Jane Doe <j@d>"});
}

TEST_CASE("ONBUILD holds its nested instruction") {
  SyntaxTree t = Parse("FROM x\nONBUILD COPY --chown=1 . /app\n");
  REQUIRE(t.nodes[1].child);
  CHECK(t.nodes[1].child->keyword == "COPY");
  CHECK(t.nodes[1].child->flags == Strings{"--chown=1"});
  CHECK(t.nodes[1].child->args == Strings{".", "/app"});
}

TEST_CASE("HEALTHCHECK keeps its type and command") {
  SyntaxTree t = Parse("FROM x\nHEALTHCHECK --retries=3 CMD curl -f http://x/\nHEALTHCHECK CMD [\"a\",\"b\"]\n");
  CHECK(t.nodes[1].args == Strings{"CMD", "curl -f http://x/"});
  CHECK(t.nodes[1].flags == Strings{"--retries=3"});
  CHECK(t.nodes[2].args == Strings{"CMD", "a", "b"});
  CHECK(t.nodes[2].json_form);
}

TEST_CASE("a heredoc body is read up to its delimiter") {
  SyntaxTree t = Parse("FROM x\nRUN <<EOF\necho $HOME\n  indented\nEOF\nRUN next\n");
  REQUIRE(t.nodes.size() == 3);
  const Node& n = t.nodes[1];
  REQUIRE(n.heredocs.size() == 1);
  CHECK(n.heredocs[0].name == "EOF");
  CHECK(n.heredocs[0].content == "echo $HOME\n  indented\n");
  CHECK(n.heredocs[0].expand);
  CHECK_FALSE(n.heredocs[0].chomp);
  CHECK(n.line == 2);
  CHECK(n.end_line == 5);
  CHECK(t.nodes[2].line == 6);
}

TEST_CASE("<<- strips leading tabs from the body and the delimiter line") {
  SyntaxTree t = Parse("FROM x\nRUN <<-EOF\n\t\techo a\n\tEOF\n");
  REQUIRE(t.nodes[1].heredocs.size() == 1);
  CHECK(t.nodes[1].heredocs[0].chomp);
  CHECK(t.nodes[1].heredocs[0].content == "echo a\n");
}

TEST_CASE("a quoted heredoc delimiter turns expansion off") {
  SyntaxTree t = Parse("FROM x\nRUN <<'EOF'\na\nEOF\nRUN <<\"E\"OF\nb\nEOF\n");
  CHECK_FALSE(t.nodes[1].heredocs[0].expand);
  CHECK(t.nodes[1].heredocs[0].name == "EOF");
  CHECK_FALSE(t.nodes[2].heredocs[0].expand);
  CHECK(t.nodes[2].heredocs[0].name == "EOF");
}

TEST_CASE("several heredocs on one line are read in order, with the fd form") {
  SyntaxTree t = Parse("FROM x\nCOPY <<A <<B /dst/\na\nA\nb\nB\nRUN cat 3<<X\nthree\nX\n");
  REQUIRE(t.nodes[1].heredocs.size() == 2);
  CHECK(t.nodes[1].heredocs[0].content == "a\n");
  CHECK(t.nodes[1].heredocs[1].content == "b\n");
  REQUIRE(t.nodes[2].heredocs.size() == 1);
  CHECK(t.nodes[2].heredocs[0].fd == 3);
  CHECK(t.nodes[2].heredocs[0].content == "three\n");
}

TEST_CASE("an unterminated heredoc is an error naming its line") {
  try {
    Parse("FROM x\nRUN <<EOF\nno end\n");
    FAIL("expected an error");
  } catch (const ParseError& e) {
    CHECK(e.where().line == 2);
    CHECK_THAT(e.what(), Catch::Contains("unterminated heredoc"));
  }
}

TEST_CASE("heredocs are only read for RUN, COPY and ADD in shell form") {
  SyntaxTree t = Parse("FROM x\nCMD cat <<EOF\nRUN [\"cat\", \"<<EOF\"]\n");
  REQUIRE(t.nodes.size() == 3);
  CHECK(t.nodes[1].heredocs.empty());
  CHECK(t.nodes[2].heredocs.empty());
}

TEST_CASE("an unknown keyword is kept for the instruction layer to report") {
  SyntaxTree t = Parse("FROM x\nRUNN echo\n");
  CHECK_FALSE(t.nodes[1].known);
}

TEST_CASE("binary garbage does not crash the reader") {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 7919) & 0xFF));
  try {
    Parse(junk);
  } catch (const ParseError&) {
  }
  SUCCEED();
}
