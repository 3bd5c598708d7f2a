// .dockerignore behaviour, one rule per test case, as Docker's documentation
// and moby/patternmatcher define it.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "parser/dockerignore.h"

namespace bld::parser {
namespace {

// Excluded, and the same decision reached by a top-down walk that hands each
// directory's result to its entries, must agree; returns the decision.
bool Excluded(const PatternMatcher& matcher, const std::string& path) {
  PatternMatcher::MatchInfo info;
  for (size_t end = path.find('/');; end = path.find('/', end + 1)) {
    info = matcher.Match(path.substr(0, end), info);
    if (end == std::string::npos) break;
  }
  const bool excluded = matcher.Excluded(path);
  INFO("path " << path);
  CHECK(info.excluded() == excluded);
  return excluded;
}

bool Excluded(const std::vector<std::string>& patterns, const std::string& path) {
  return Excluded(PatternMatcher(patterns), path);
}

// A directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string name = (std::filesystem::temp_directory_path() / "bld-dockerignore-XXXXXX").string();
    if (mkdtemp(name.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + name);
    path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  void Write(const std::string& relative, const std::string& content = "") const {
    const std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << content;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace

TEST_CASE("a later ! pattern re-includes what an earlier pattern excluded") {
  const std::vector<std::string> patterns = {"*.md", "!README.md"};
  CHECK(Excluded(patterns, "CHANGES.md"));
  CHECK_FALSE(Excluded(patterns, "README.md"));
  CHECK_FALSE(Excluded(patterns, "main.go"));
}

TEST_CASE("patterns apply in order so the last one that matches decides") {
  // Docker's documentation: README-secret.md stays out in the first file and
  // comes back in the second, where !README*.md matches last.
  const std::vector<std::string> secret_excluded = {"*.md", "!README*.md", "README-secret.md"};
  CHECK(Excluded(secret_excluded, "README-secret.md"));
  CHECK_FALSE(Excluded(secret_excluded, "README.md"));
  CHECK(Excluded(secret_excluded, "NOTES.md"));

  const std::vector<std::string> secret_included = {"*.md", "README-secret.md", "!README*.md"};
  CHECK_FALSE(Excluded(secret_included, "README-secret.md"));

  // An exclusion listed before anything excludes it has nothing to take back.
  CHECK(Excluded({"!main.go", "*.go"}, "main.go"));
}

TEST_CASE("excluding a directory excludes everything under it") {
  const std::vector<std::string> patterns = {"docs"};
  CHECK(Excluded(patterns, "docs"));
  CHECK(Excluded(patterns, "docs/guide.md"));
  CHECK(Excluded(patterns, "docs/api/v1/index.html"));
  CHECK_FALSE(Excluded(patterns, "docsite/index.html"));
  CHECK_FALSE(Excluded(patterns, "src/docs/x"));  // only docs at the root
  // A trailing slash is cleaned away: "docs/" is "docs".
  CHECK(Excluded({"docs/"}, "docs/guide.md"));
}

TEST_CASE("a ! pattern re-includes a file inside an excluded directory") {
  const PatternMatcher matcher({"docs", "!docs/README.md"});
  CHECK(matcher.HasExclusions());
  CHECK(Excluded(matcher, "docs"));
  CHECK(Excluded(matcher, "docs/other.md"));
  CHECK_FALSE(Excluded(matcher, "docs/README.md"));
  // An exception also applies to what lies under the path it names.
  CHECK_FALSE(Excluded({"**", "!util/docker/web"}, "util/docker/web/foo"));
  CHECK(Excluded({"**", "!util/docker/web", "util/docker/web/foo"}, "util/docker/web/foo"));
}

TEST_CASE("HasExclusions is set only by ! patterns") {
  CHECK_FALSE(PatternMatcher({"docs", "*.md"}).HasExclusions());
  CHECK(PatternMatcher({"  !docs/README.md  "}).HasExclusions());
  CHECK_FALSE(PatternMatcher({}).HasExclusions());
}

TEST_CASE("patterns match from the context root and a star spans one directory level") {
  CHECK(Excluded({"foo/bar"}, "foo/bar"));
  CHECK_FALSE(Excluded({"foo/bar"}, "x/foo/bar"));
  // Docker's documentation examples.
  CHECK(Excluded({"*/temp*"}, "somedir/temporary.txt"));
  CHECK(Excluded({"*/temp*"}, "somedir/temp"));
  CHECK_FALSE(Excluded({"*/temp*"}, "temp"));
  CHECK(Excluded({"*/*/temp*"}, "somedir/subdir/temporary.txt"));
  CHECK(Excluded({"temp?"}, "tempa"));
  CHECK_FALSE(Excluded({"temp?"}, "temp"));
}

TEST_CASE("a double star matches any number of directories including none") {
  const std::vector<std::string> patterns = {"**/*.go"};
  CHECK(Excluded(patterns, "main.go"));
  CHECK(Excluded(patterns, "cmd/tool/main.go"));
  CHECK_FALSE(Excluded(patterns, "main.goo"));
  CHECK(Excluded({"src/**/test"}, "src/test"));
  CHECK(Excluded({"src/**/test"}, "src/a/b/test/x.c"));
  CHECK_FALSE(Excluded({"abc/**"}, "abc"));  // a trailing ** needs something after the slash
  CHECK(Excluded({"abc/**"}, "abc/def"));
}

TEST_CASE("a star or question mark never crosses a slash and classes and escapes follow filepath.Match") {
  CHECK_FALSE(Excluded({"a*b"}, "a/b"));
  CHECK_FALSE(Excluded({"a?b"}, "a/b"));
  CHECK(Excluded({"a?b"}, "a☺b"));  // ? is one character, not one byte
  CHECK(Excluded({"ab[b-d]"}, "abc"));
  CHECK_FALSE(Excluded({"ab[^b-d]"}, "abc"));
  CHECK(Excluded({"a\\*b"}, "a*b"));
  CHECK_FALSE(Excluded({"a\\*b"}, "axb"));
  CHECK(Excluded({"a.|)$(}+{bc"}, "a.|)$(}+{bc"));  // without wildcards a pattern is plain text
}

TEST_CASE("characters Docker leaves unescaped keep their Go regexp meaning") {
  // Docker escapes only . + ( ) $ when a pattern becomes a regexp, so in a
  // pattern with a wildcard | is an alternation and {n} a repetition, and
  // classes take Go regexp syntax.
  const PatternMatcher alternation({"a|b*"});
  CHECK(alternation.patterns().front().regexp == "^a|b[^/]*$");
  CHECK(Excluded(alternation, "abc"));       // ^a
  CHECK(Excluded(alternation, "x/bcd"));     // b[^/]*$ anywhere
  CHECK_FALSE(Excluded(alternation, "xyz"));
  CHECK(Excluded({"x{2}*"}, "xxy"));
  CHECK_FALSE(Excluded({"x{2}*"}, "x{2}y"));
  CHECK(Excluded({"[[:digit:]]*"}, "7up"));
  CHECK_FALSE(Excluded({"[[:digit:]]*"}, "up"));
}

TEST_CASE("Go regexp escapes in a pattern with a wildcard keep their regexp meaning") {
  CHECK(Excluded({"v\\d*"}, "v1.2"));  // \d is a digit, not a "d"
  CHECK_FALSE(Excluded({"v\\d*"}, "vd"));
  CHECK(Excluded({"x\\b*"}, "x-y"));  // \b is a word boundary
  CHECK_FALSE(Excluded({"x\\b*"}, "xy"));
  CHECK(Excluded({"\\Qa*"}, "a[^/]*$"));  // \Q quotes the rest, Docker's own regexp text included
  CHECK_FALSE(Excluded({"\\Qa*"}, "ab"));
}

TEST_CASE("a long pattern matches as a short one does") {
  const std::string dir(100, 'd');
  const std::vector<std::string> patterns = {dir + "/*/x*y.txt"};
  CHECK(Excluded(patterns, dir + "/a/xzy.txt"));
  CHECK(Excluded(patterns, dir + "/a/xzy.txt/inside"));
  CHECK_FALSE(Excluded(patterns, dir + "/a/b/xzy.txt"));
  CHECK_FALSE(Excluded(patterns, dir + "/a/xzy.txt2"));
}

TEST_CASE("comments start with # in column 0 only") {
  const std::vector<std::string> patterns = ReadIgnoreFile("# a comment\n  # not a comment\nfoo # bar\n#\n");
  CHECK(patterns == std::vector<std::string>{"# not a comment", "foo # bar"});
}

TEST_CASE("a UTF-8 byte order mark is dropped from the first line only") {
  CHECK(ReadIgnoreFile("\xEF\xBB\xBF# comment\nfoo") == std::vector<std::string>{"foo"});
  CHECK(ReadIgnoreFile("\xEF\xBB\xBF" "foo\n") == std::vector<std::string>{"foo"});
  CHECK(ReadIgnoreFile("foo\n\xEF\xBB\xBF" "bar") == std::vector<std::string>{"foo", "\xEF\xBB\xBF" "bar"});
}

TEST_CASE("white space around a pattern and blank lines and CR line ends are dropped") {
  CHECK(ReadIgnoreFile("  foo  \r\n\t\r\n\nbar\t\r\n") == std::vector<std::string>{"foo", "bar"});
  // Go trims Unicode white space too (here U+00A0 and U+3000).
  CHECK(ReadIgnoreFile("\xC2\xA0" "foo\xE3\x80\x80") == std::vector<std::string>{"foo"});
  CHECK(ReadIgnoreFile("!  keep.txt  ") == std::vector<std::string>{"!keep.txt"});
  CHECK(ReadIgnoreFile("").empty());
}

TEST_CASE("a leading / or ./ and . or .. elements are cleaned away") {
  CHECK(ReadIgnoreFile("/foo/bar\n./baz\na/./b/../c/\n//x//y//\n! /inverted/abs/path\n/\n") ==
        std::vector<std::string>{"foo/bar", "baz", "a/c", "x/y", "!inverted/abs/path", "/"});
  // A cleaned pattern then matches the path the walker gives.
  CHECK(Excluded(ReadIgnoreFile("/foo/bar"), "foo/bar"));
  CHECK(Excluded(ReadIgnoreFile("./docs/"), "docs/a.md"));
}

TEST_CASE("the Dockerfile's own ignore file takes precedence over the context's") {
  const TempDir dir;
  const std::filesystem::path context = dir.path() / "context";
  const std::filesystem::path dockerfile = context / "docker" / "app.Dockerfile";
  dir.Write("context/docker/app.Dockerfile", "FROM scratch\n");
  CHECK(FindIgnoreFile(context, dockerfile) == std::nullopt);

  dir.Write("context/.dockerignore", "*.log\n");
  CHECK(FindIgnoreFile(context, dockerfile) == context / ".dockerignore");
  CHECK(FindIgnoreFile(context, {}) == context / ".dockerignore");  // Dockerfile from stdin

  dir.Write("context/docker/app.Dockerfile.dockerignore", "*.tmp\n");
  CHECK(FindIgnoreFile(context, dockerfile) == context / "docker" / "app.Dockerfile.dockerignore");
  // Another Dockerfile in the same directory does not pick it up.
  CHECK(FindIgnoreFile(context, context / "docker" / "Dockerfile") == context / ".dockerignore");
  // A directory by that name is not an ignore file.
  std::filesystem::create_directories(context / "Dockerfile.dockerignore");
  CHECK(FindIgnoreFile(context, context / "Dockerfile") == context / ".dockerignore");
}

TEST_CASE("malformed patterns are rejected with the pattern named") {
  const auto message_of = [](const std::vector<std::string>& patterns) {
    try {
      PatternMatcher matcher(patterns);
    } catch (const IgnoreError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(message_of({"ok", "["}), Catch::Contains("\"[\"") && Catch::Contains("not closed"));
  CHECK_THAT(message_of({"a\\"}), Catch::Contains("\"a\\\"") && Catch::Contains("backslash"));
  CHECK_THAT(message_of({"[x-]"}), Catch::Contains("\"[x-]\""));
  CHECK_THAT(message_of({"[]a]"}), Catch::Contains("empty"));
  CHECK_THAT(message_of({"[a-b-c]"}), Catch::Contains("'-'"));
  CHECK_THAT(message_of({"docs", "!"}), Catch::Contains("\"!\""));
  // ReadIgnoreFile keeps a lone "!"; the matcher is what refuses it.
  CHECK_THROWS_AS(PatternMatcher(ReadIgnoreFile("docs\n!\n")), IgnoreError);
}

TEST_CASE("a pattern only Go's regexp rejects fails when it is tried and not before") {
  // [z-a] passes filepath.Match's check (it does not order ranges), but Go's
  // regexp refuses the reversed range: Docker errors only when matching.
  const PatternMatcher matcher({"[z-a]*"});
  CHECK_THROWS_WITH(matcher.Excluded("x"), Catch::Contains("[z-a]*") && Catch::Contains("z-a"));
  CHECK_THROWS_AS(matcher.Match("x", {}), IgnoreError);
  // Never tried, never an error: "*" already excludes every top-level name.
  const PatternMatcher shadowed({"*", "[z-a]"});
  CHECK(shadowed.Excluded("x"));
  CHECK(shadowed.Excluded("x/y"));
}

TEST_CASE("a MatchInfo from another matcher is refused") {
  const PatternMatcher one({"a"});
  const PatternMatcher two({"a", "b"});
  const PatternMatcher::MatchInfo info = one.Match("a", {});
  CHECK_THROWS_AS(two.Match("a/b", info), std::invalid_argument);
}

TEST_CASE("a walk with parent results decides as whole-path matching does") {
  const PatternMatcher matcher({"**/*.log", "!**/keep.log", "build", "!build/dist", "build/dist/*.map",
                                "*/tmp?", "vendor/**", "!vendor/a/LICENSE"});
  const std::vector<std::string> paths = {
      "a.log", "x/keep.log", "x/y/z.log", "build", "build/obj/a.o", "build/dist",
      "build/dist/app.js", "build/dist/app.js.map", "src/tmp1", "src/tmp12", "vendor",
      "vendor/a", "vendor/a/LICENSE", "vendor/a/x.go", "main.go",
  };
  // Excluded() checks the walk against whole-path matching for each.
  std::vector<std::string> excluded;
  for (const std::string& path : paths) {
    if (Excluded(matcher, path)) excluded.push_back(path);
  }
  CHECK(excluded == std::vector<std::string>{"a.log", "x/y/z.log", "build", "build/obj/a.o",
                                             "build/dist/app.js.map", "src/tmp1", "vendor/a", "vendor/a/x.go"});
}

TEST_CASE("100000 paths are matched by walking and by whole path") {
  // No timing assertion: this shows that a context of typical size goes
  // through both APIs with the patterns of a typical .dockerignore.
  const PatternMatcher matcher(ReadIgnoreFile(
      "# typical\n.git\nnode_modules\n**/*.log\n!**/important.log\nbuild/**\n*.tmp\n**/__pycache__\n"
      "docs/*.md\n!docs/README.md\n**/test?/*.snap\n"));
  constexpr int kTopDirs = 100;
  constexpr int kSubDirs = 10;
  constexpr int kFilesPerDir = 100;
  const char* const kTopNames[] = {"src", "node_modules", "build", "docs", ".git", "lib", "test1"};
  const char* const kFileNames[] = {"main.go", "debug.log", "important.log", "x.tmp", "README.md", "a.snap", "b.md"};
  int files = 0;
  int excluded_by_walk = 0;
  int excluded_whole = 0;
  for (int t = 0; t < kTopDirs; ++t) {
    const std::string top = std::string(kTopNames[t % 7]) + (t < 7 ? "" : std::to_string(t));
    const PatternMatcher::MatchInfo top_info = matcher.Match(top, {});
    for (int s = 0; s < kSubDirs; ++s) {
      const std::string sub = top + "/" + (s == 0 ? "__pycache__" : (s < 5 ? "test" : "pkg") + std::to_string(s));
      const PatternMatcher::MatchInfo sub_info = matcher.Match(sub, top_info);
      for (int f = 0; f < kFilesPerDir; ++f) {
        const std::string file = sub + "/" + std::to_string(f) + kFileNames[f % 7];
        ++files;
        if (matcher.Match(file, sub_info).excluded()) ++excluded_by_walk;
        if (matcher.Excluded(file)) ++excluded_whole;
      }
    }
  }
  CHECK(files == 100'000);
  CHECK(excluded_by_walk == excluded_whole);
  CHECK(excluded_whole > 0);
  CHECK(excluded_whole < files);
}

}  // namespace bld::parser
