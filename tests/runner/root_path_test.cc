// Paths resolved inside a root as if it were `/` (runner/root_path.h), and
// what an overlay of unmounted layers shows at a path (runner/lower_lookup.h).
#include "runner/root_path.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>

#include "runner/lower_lookup.h"
#include "store/error.h"
#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;

// A root whose symlinks are the map's entries.
runner::LinkReader Links(std::map<std::string, std::string> links) {
  return [links = std::move(links)](const std::string& rel) -> std::optional<std::string> {
    auto it = links.find(rel);
    if (it == links.end()) return std::nullopt;
    return it->second;
  };
}

std::string Resolve(std::string_view path, const std::map<std::string, std::string>& links, bool follow_last = true) {
  return runner::ResolveInRoot(path, follow_last, Links(links), "the test root");
}

void Whiteout(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  REQUIRE(::mknod(path.c_str(), S_IFCHR | 0000, makedev(0, 0)) == 0);
}

}  // namespace

TEST_CASE("dot-dot stops at the root of a resolved path") {
  CHECK(Resolve("../../etc/./passwd", {}) == "etc/passwd");
  CHECK(Resolve("/a/b/../../..", {}).empty());
}

TEST_CASE("an absolute symlink starts again at the root, a relative one at its directory") {
  CHECK(Resolve("a/d", {{"a", "/b/c"}}) == "b/c/d");
  CHECK(Resolve("x/l/f", {{"x/l", "../../../y"}}) == "y/f");
  CHECK(Resolve("x/l", {{"x/l", "../../../y"}}, false) == "x/l");
}

TEST_CASE("a symlink loop is an error naming the path") {
  CHECK_THROWS_WITH(Resolve("l", {{"l", "m"}, {"m", "/l"}}),
                    Catch::Contains("too many levels of symbolic links in the test root"));
}

TEST_CASE("the topmost layer with an entry shows it; a whiteout above hides it") {
  TempDir dir;
  WriteFile(dir / "lower/etc/a", "lower");
  WriteFile(dir / "lower/etc/b", "lower");
  WriteFile(dir / "upper/etc/a", "upper");
  Whiteout(dir / "upper/etc/b");
  std::vector<std::string> lowers = {dir / "upper", dir / "lower"};
  auto a = runner::LookUpInLowers(lowers, "etc/a");
  REQUIRE(a);
  CHECK(a->path == dir / "upper/etc/a");
  CHECK_FALSE(runner::LookUpInLowers(lowers, "etc/b"));
  CHECK_FALSE(runner::LookUpInLowers(lowers, "etc/none"));
}

TEST_CASE("a file or an opaque directory above hides what the layers below have under it") {
  TempDir dir;
  WriteFile(dir / "lower/d/inner", "x");
  WriteFile(dir / "lower/o/inner", "x");
  WriteFile(dir / "upper/d", "a file now");
  fs::create_directories(dir / "upper/o");
  REQUIRE(::lsetxattr((dir / "upper/o").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  std::vector<std::string> lowers = {dir / "upper", dir / "lower"};
  CHECK_FALSE(runner::LookUpInLowers(lowers, "d/inner"));
  CHECK_FALSE(runner::LookUpInLowers(lowers, "o/inner"));
  CHECK(runner::LookUpInLowers({dir / "lower"}, "o/inner"));
}

TEST_CASE("symlinks of the image are resolved inside it, across layers") {
  TempDir dir;
  fs::create_directories(dir / "lower/usr/lib");
  fs::create_directory_symlink("/usr/lib", dir / "lower/lib");
  fs::create_directories(dir / "upper/run");
  fs::create_directory_symlink("../../../../var/run", dir / "upper/run/link");
  std::vector<std::string> lowers = {dir / "upper", dir / "lower"};
  CHECK(runner::ResolveInLowers(lowers, "/lib/cache") == "/usr/lib/cache");
  CHECK(runner::ResolveInLowers(lowers, "/run/link/x") == "/var/run/x");
}

}  // namespace bld::testing
