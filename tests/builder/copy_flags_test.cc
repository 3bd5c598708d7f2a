// COPY/ADD flags and base fixes in the builder, against fakes
// (builder_fakes.h): what the file step is asked to do and the keys.
#include <catch2/catch.hpp>

#include <algorithm>

#include "builder/cache_key.h"
#include "builder_fakes.h"
#include "store/platform.h"
#include "store/image.h"

using namespace bld;
using bld::testing::FakeBuild;
using bld::testing::FakeImage;

namespace {

void AddBase(FakeBuild& b, const std::string& name, std::vector<std::string> env = {"PATH=/bin"}) {
  store::ContainerConfig config;
  config.env = std::move(env);
  b.images.images[name] = FakeImage(name, config);
}

std::vector<std::string> Dests(const runner::FilePlan& plan) {
  std::vector<std::string> dests;
  for (const runner::FileOp& op : plan.ops) dests.push_back(op.dest);
  return dests;
}

std::string ErrorOf(FakeBuild& b, const std::string& dockerfile) {
  try {
    b.Run(dockerfile);
  } catch (const builder::BuildError& e) {
    return "line " + std::to_string(e.where().line) + ": " + e.what();
  }
  return "(no error)";
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("COPY --chown with a uid alone asks for that gid too; a name keeps its passwd group") {
  FakeBuild b;
  AddBase(b, "busybox");
  b.Context("a", "a");
  b.Run("FROM busybox\nCOPY --chown=42 a /a\nCOPY --chown=app a /b\nCOPY --chown=1:2 a /c\n");
  REQUIRE(b.runtime.file_steps.size() == 3);
  CHECK(b.runtime.file_steps[0].plan.owner == "42:42");
  CHECK(b.runtime.file_steps[1].plan.owner == "app");
  CHECK(b.runtime.file_steps[2].plan.owner == "1:2");
}

TEST_CASE("a COPY --link layer is made on an empty root and kept when the base changes") {
  FakeBuild b;
  AddBase(b, "one");
  AddBase(b, "two");
  b.Context("app.txt", "app");
  builder::StageResult first = b.Run("FROM one\nCOPY --link app.txt /app/\n");
  REQUIRE(b.runtime.file_steps.size() == 1);
  CHECK(b.runtime.file_steps[0].layers.empty());
  builder::StageResult second = b.Run("FROM two\nCOPY --link app.txt /app/\n");
  CHECK(b.runtime.file_steps.size() == 1);
  CHECK(second.key != first.key);
  CHECK(second.state.layers.back().digest == first.state.layers.back().digest);
  CHECK(second.state.layers.front().digest == b.images.images["two"].state.layers.front().digest);
  CHECK(second.state.config.history.size() == first.state.config.history.size());
}

TEST_CASE("a COPY --link layer is made again when what it copies changes") {
  FakeBuild b;
  AddBase(b, "one");
  b.Context("app.txt", "app");
  b.Run("FROM one\nCOPY --link app.txt /app/\n");
  b.Context("app.txt", "new app");
  b.Run("FROM one\nCOPY --link app.txt /app/\n");
  CHECK(b.runtime.file_steps.size() == 2);
}

TEST_CASE("COPY --exclude leaves out entries below a source and matching sources") {
  FakeBuild b;
  AddBase(b, "busybox");
  b.Context("src/a.c", "a");
  b.Context("src/a.md", "md");
  b.Context("src/doc/b.md", "md");
  b.Context("x.md", "md");
  b.Context("x.c", "c");
  b.Run("FROM busybox\nCOPY --exclude=*.md --exclude=doc src /src/\nCOPY --exclude=*.md x.* /x/\n");
  REQUIRE(b.runtime.file_steps.size() == 2);
  CHECK(Dests(b.runtime.file_steps[0].plan) == Strings{"/src", "/src/a.c"});
  CHECK(Dests(b.runtime.file_steps[1].plan) == Strings{"/x/x.c"});
}

TEST_CASE("COPY --exclude patterns may use build variables") {
  FakeBuild b;
  AddBase(b, "busybox");
  b.Context("d/a.tmp", "t");
  b.Context("d/a.c", "c");
  b.options.build_args = {{"EXT", "tmp"}};
  b.Run("FROM busybox\nARG EXT\nCOPY --exclude=*.$EXT d /d/\n");
  CHECK(Dests(b.runtime.file_steps.at(0).plan) == Strings{"/d", "/d/a.c"});
}

TEST_CASE("COPY --parents keeps the source's path, from the context root or a /./ pivot") {
  FakeBuild b;
  AddBase(b, "busybox");
  b.Context("a/b/c.txt", "c");
  b.Context("a/b/dir/d.txt", "d");
  b.Run("FROM busybox\nCOPY --parents a/b/c.txt /x\nCOPY --parents a/./b/dir /y/\n");
  REQUIRE(b.runtime.file_steps.size() == 2);
  CHECK(Dests(b.runtime.file_steps[0].plan) == Strings{"/x/a", "/x/a/b", "/x/a/b/c.txt"});
  CHECK(Dests(b.runtime.file_steps[1].plan) == Strings{"/y/b", "/y/b/dir", "/y/b/dir/d.txt"});
}

TEST_CASE("COPY --from with --exclude or --parents is refused") {
  FakeBuild b;
  AddBase(b, "busybox");
  CHECK_THAT(ErrorOf(b, "FROM busybox AS a\nFROM busybox\nCOPY --from=a --exclude=*.o /x /y\n"),
             Catch::StartsWith("line 3: COPY --from with --exclude is not supported by bld yet"));
}

TEST_CASE("a wildcard matching nothing beside a real source is no error; alone it is") {
  FakeBuild b;
  AddBase(b, "busybox");
  b.Context("a.txt", "a");
  b.Run("FROM busybox\nCOPY a.txt nomatch* /d/\n");
  CHECK(Dests(b.runtime.file_steps.at(0).plan) == Strings{"/d/a.txt"});
  CHECK_THAT(ErrorOf(b, "FROM busybox\nCOPY nomatch* /d/\n"),
             Catch::Contains("\"nomatch*\": no file in the build context matches"));
}

TEST_CASE("ADD --checksum is only for one URL source and a sha256 digest") {
  FakeBuild b;
  AddBase(b, "busybox");
  b.Context("a", "a");
  std::string digest = "sha256:" + std::string(64, 'a');
  CHECK_THAT(ErrorOf(b, "FROM busybox\nADD --checksum=" + digest + " a /a\n"),
             Catch::StartsWith("line 2: ADD --checksum: the checksum can only be checked for http(s) sources"));
  CHECK_THAT(ErrorOf(b, "FROM busybox\nADD --checksum=" + digest + " http://127.0.0.1:1/a http://127.0.0.1:1/b /d/\n"),
             Catch::StartsWith("line 2: ADD --checksum: the checksum can't be specified for multiple sources"));
  CHECK_THAT(ErrorOf(b, "FROM busybox\nADD --checksum=md5:abc http://127.0.0.1:1/a /a\n"),
             Catch::StartsWith("line 2: ADD --checksum=md5:abc: use sha256:<64 lowercase hex digits>"));
}

TEST_CASE("FROM scratch starts with Docker's PATH") {
  FakeBuild b;
  builder::StageResult r = b.Run("FROM scratch\nENV X=$PATH\n");
  CHECK(r.state.config.config.env ==
        Strings{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "X=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
}

TEST_CASE("a base without PATH gets Docker's, and a key that says so") {
  FakeBuild b;
  AddBase(b, "nopath", {"A=1"});
  AddBase(b, "withpath");
  builder::StageResult without = b.Run("FROM nopath\n");
  CHECK(without.state.config.config.env ==
        Strings{"A=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
  std::string platform = store::FormatPlatform(store::HostPlatform());
  CHECK(without.key == builder::FromImageKey(platform, b.images.images["nopath"].manifest, true));
  builder::StageResult with = b.Run("FROM withpath\n");
  CHECK(with.key == builder::FromImageKey(platform, b.images.images["withpath"].manifest));
}
