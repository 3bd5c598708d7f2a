// COPY and ADD flags (--link, --exclude, --parents, --chown, --checksum,
// --keep-git-dir) and the Dockerfile errors and fixes found by comparing
// bld's images with buildah's, through the real binary.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "registry/image_lookup.h"
#include "store/image.h"
#include "support/process.h"
#include "support/test_images.h"

using bld::testing::ProcessResult;
using bld::testing::RunBld;
using bld::testing::RunProcess;
using bld::testing::TempDir;
using bld::testing::WriteFile;

namespace {

struct Env {
  TempDir root;
  TempDir context;
  TempDir out;
  Env() {
    auto store = bld::store::Store::Open(root.path());
    bld::testing::MakeBusyboxImage(*store);
  }
  ProcessResult Bld(std::vector<std::string> args) {
    args.insert(args.begin(), {"--root", root.path()});
    return RunBld(args);
  }
  ProcessResult Build(std::vector<std::string> args) {
    args.insert(args.begin(), {"build", "--progress", "plain"});
    args.push_back(context.path());
    return Bld(args);
  }
  bld::store::Image Image(const std::string& name) {
    auto store = bld::store::Store::Open(root.path());
    std::optional<bld::store::Descriptor> d = bld::registry::FindLocalImage(*store, name);
    REQUIRE(d);
    return bld::store::ReadImage(*store, *d);
  }
  // The blob of the image's last layer, as a push sends it (a save writes
  // the blobs of a built image's layers: store/lazy_layer.h).
  std::string TopLayerBlob(const std::string& name) {
    ProcessResult saved = Bld({"save", "-o", out.path() + "/saved.tar", name});
    INFO(saved.err);
    REQUIRE(saved.exit_code == 0);
    return root.path() + "/blobs/sha256/" + std::string(Image(name).manifest.layers.back().digest.hex());
  }
  // `tar -tvzf` of the image's last layer, owners numeric.
  std::string TopLayerListing(const std::string& name) {
    return RunProcess({"tar", "--numeric-owner", "-tvzf", TopLayerBlob(name)}).out;
  }
  std::string TopLayerEntries(const std::string& name) { return RunProcess({"tar", "-tzf", TopLayerBlob(name)}).out; }
};

void Require(const ProcessResult& r) {
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

void RequireFailureAt(const ProcessResult& r, int line, const std::string& message) {
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("Dockerfile:" + std::to_string(line)));
  CHECK_THAT(r.err, Catch::Contains(message));
}

}  // namespace

TEST_CASE("a COPY --link layer is reused unchanged when the base changes") {
  Env env;
  WriteFile(env.context / "app.txt", "the app\n");
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nARG BASE=1\nRUN echo $BASE > /base-version\nCOPY --link app.txt /app/\n");
  Require(env.Build({"-t", "v1", "--build-arg", "BASE=1"}));
  ProcessResult second = env.Build({"-t", "v2", "--build-arg", "BASE=2"});
  Require(second);
  CHECK_THAT(second.err, Catch::Contains("#4 CACHED"));
  bld::store::Image v1 = env.Image("v1"), v2 = env.Image("v2");
  REQUIRE(v1.manifest.layers.size() == 3);
  REQUIRE(v2.manifest.layers.size() == 3);
  CHECK(v1.manifest.layers[1].digest != v2.manifest.layers[1].digest);
  CHECK(v1.manifest.layers[2].digest == v2.manifest.layers[2].digest);
  CHECK(env.TopLayerEntries("v2") == "app/\napp/app.txt\n");
  ProcessResult run = env.Bld({"run", "--rm", "v2", "cat", "/base-version", "/app/app.txt"});
  Require(run);
  CHECK(run.out == "2\nthe app\n");
}

TEST_CASE("COPY --link --chown with a name is refused: a linked layer has no passwd") {
  Env env;
  WriteFile(env.context / "a", "a");
  WriteFile(env.context / "Dockerfile", "FROM busybox\nCOPY --link --chown=app a /a\n");
  RequireFailureAt(env.Build({}), 2, "give numeric ids");
}

TEST_CASE("COPY --exclude leaves out what its patterns match") {
  Env env;
  WriteFile(env.context / "src/main.c", "c");
  WriteFile(env.context / "src/notes.md", "md");
  WriteFile(env.context / "src/sub/deep.md", "md");
  WriteFile(env.context / "src/sub/keep.c", "c");
  WriteFile(env.context / "top.md", "md");
  WriteFile(env.context / "top.c", "c");
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nCOPY --exclude=*.md --exclude=sub/deep.md src /src/\nCOPY --exclude=*.md top.* /top/\n");
  Require(env.Build({"-t", "excluded"}));
  ProcessResult run = env.Bld({"run", "--rm", "excluded", "find", "/src", "/top", "-type", "f"});
  Require(run);
  std::string files = run.out;
  CHECK_THAT(files, Catch::Contains("/src/main.c"));
  CHECK_THAT(files, Catch::Contains("/src/sub/keep.c"));
  CHECK_THAT(files, Catch::Contains("/top/top.c"));
  CHECK_THAT(files, !Catch::Contains(".md"));
}

TEST_CASE("COPY --parents keeps each source's path, below a /./ pivot when given") {
  Env env;
  WriteFile(env.context / "x/a/one.txt", "1");
  WriteFile(env.context / "y/a/two.txt", "2");
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nCOPY --parents x/a/one.txt y/a/*.txt /no-pivot/\nCOPY --parents ./x/./a/one.txt /pivot/\n");
  Require(env.Build({"-t", "parents"}));
  ProcessResult run = env.Bld({"run", "--rm", "parents", "find", "/no-pivot", "/pivot", "-type", "f"});
  Require(run);
  CHECK(run.out == "/no-pivot/x/a/one.txt\n/no-pivot/y/a/two.txt\n/pivot/a/one.txt\n");
}

TEST_CASE("COPY --chown with a uid alone gives that gid too") {
  Env env;
  WriteFile(env.context / "a.txt", "a");
  WriteFile(env.context / "Dockerfile", "FROM busybox\nCOPY --chown=42 a.txt /owned/\n");
  Require(env.Build({"-t", "owned"}));
  CHECK_THAT(env.TopLayerListing("owned"), Catch::Contains("42/42"));
}

TEST_CASE("a wildcard that matches nothing beside a real source is no error") {
  Env env;
  WriteFile(env.context / "a.txt", "a");
  WriteFile(env.context / "Dockerfile", "FROM busybox\nCOPY a.txt nomatch* /d/\n");
  Require(env.Build({"-t", "partial"}));
  CHECK(env.TopLayerEntries("partial") == "d/\nd/a.txt\n");
  WriteFile(env.context / "Dockerfile", "FROM busybox\nCOPY nomatch* /d/\n");
  RequireFailureAt(env.Build({}), 2, "\"nomatch*\": no file in the build context matches");
}

TEST_CASE("an image built FROM scratch has Docker's default PATH") {
  Env env;
  WriteFile(env.context / "a.txt", "a");
  WriteFile(env.context / "Dockerfile", "FROM scratch\nCOPY a.txt /\n");
  Require(env.Build({"-t", "from-scratch"}));
  CHECK(env.Image("from-scratch").config.config.env ==
        std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
}

TEST_CASE("a line ending in two backslashes ends the instruction") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nENV C trailing\\\\backslash\\\\\nENV D after\n");
  Require(env.Build({"-t", "escapes"}));
  std::vector<std::string> envs = env.Image("escapes").config.config.env;
  CHECK(std::find(envs.begin(), envs.end(), "C=trailing\\backslash\\") != envs.end());
  CHECK(std::find(envs.begin(), envs.end(), "D=after") != envs.end());
}

TEST_CASE("Dockerfile mistakes are errors at their line, flags named with their dashes") {
  Env env;
  WriteFile(env.context / "a", "a");
  struct Case {
    std::string dockerfile;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"FROM busybox\nCOPY --user=1 a /a\n", "unknown flag: --user"},
           {"FROM busybox\nCOPY <<EOF\nhi\nEOF\n", "a heredoc is a source and cannot be the destination"},
           {"FROM busybox\nCOPY --chmod=17777 a /a\n", "invalid --chmod=17777"},
           {"FROM busybox\nCOPY https://example.org/a /a\n", "COPY cannot download a URL; use ADD"},
           {"FROM busybox\nADD --checksum=sha256:" + std::string(64, '0') + " a /a\n",
            "the checksum can only be checked for http(s) sources"},
           {"FROM busybox\nADD --keep-git-dir a /a\n", "bld does not fetch git repositories"},
           {"FROM busybox\nRUN --security=insecure true\n", "RUN --security=insecure needs the security.insecure entitlement"},
       }) {
    WriteFile(env.context / "Dockerfile", c.dockerfile);
    INFO(c.dockerfile);
    RequireFailureAt(env.Build({}), 2, c.message);
  }
}
