// --cache-to / --cache-from: runner A builds and exports its cache, runner B
// (a new, empty store) imports it and runs no step whose inputs are
// unchanged. The registry is Debian's docker-registry on a free 127.0.0.1
// port; the base image is pushed there by A, so that both runners resolve
// it to the same digest, as CI runners pulling one base do.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/busybox.h"
#include "support/process.h"
#include "support/registry_server.h"

using bld::testing::ProcessResult;
using bld::testing::RegistryServer;
using bld::testing::RunBld;
using bld::testing::TempDir;
using bld::testing::WriteFile;
using nlohmann::json;

namespace {

// The RUN steps print "executed <stage>" when they run; their own text
// splits the word, so that the step's title never matches.
constexpr const char* kDockerfile =
    "FROM {BASE} AS build\n"
    "COPY src.txt /src.txt\n"
    "RUN cat /src.txt > /built.txt && echo \"exe\"\"cuted build\"\n"
    "FROM {BASE}\n"
    "COPY --from=build /built.txt /app/built.txt\n"
    "COPY other.txt /app/other.txt\n"
    "RUN echo \"exe\"\"cuted final\" && cat /app/built.txt /app/other.txt > /app/final.txt\n";

struct Fixture {
  RegistryServer registry;
  TempDir dir;
  std::map<std::string, std::string> env = {{"DOCKER_CONFIG", dir / "docker"}, {"BLD_CONFIG", dir / "none.json"}};
  std::string base = registry.host() + "/base/busybox:1";
  std::string ctx = dir / "ctx";

  Fixture() {
    bld::testing::MakeBusyboxTar(dir / "busybox.tar");
    Require(Bld("a", {"import", dir / "busybox.tar", base}));
    Require(Bld("a", {"push", base}));
    std::string text = kDockerfile;
    for (size_t at; (at = text.find("{BASE}")) != std::string::npos;) text.replace(at, 6, base);
    WriteFile(ctx + "/Dockerfile", text);
    WriteFile(ctx + "/src.txt", "source\n");
    WriteFile(ctx + "/other.txt", "other\n");
  }

  // bld with the store of runner `runner` ("a", "b", ...).
  ProcessResult Bld(const std::string& runner, std::vector<std::string> args) {
    args.insert(args.begin(), {"--root", dir / ("store-" + runner)});
    return RunBld(args, "", env);
  }
  ProcessResult Build(const std::string& runner, const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"build", "--progress", "plain"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(ctx);
    return Bld(runner, args);
  }
  // What `cat PATH` prints in a container of `image` on runner `runner`.
  std::string Cat(const std::string& runner, const std::string& image, const std::string& path) {
    ProcessResult run = Bld(runner, {"run", "--rm", image, "cat", path});
    Require(run);
    return run.out;
  }
  // The image ID a build printed.
  static std::string ImageId(const ProcessResult& build) { return build.out.substr(0, build.out.find('\n')); }
  static void Require(const ProcessResult& r) {
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  // How many blob GETs the registry served from `repository`.
  size_t BlobGets(const std::string& repository) const {
    std::string log = registry.log();
    std::string needle = "GET /v2/" + repository + "/blobs/";
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }
};

bool Ran(const ProcessResult& r, const std::string& stage) {
  return r.err.find("executed " + stage) != std::string::npos;
}

// Runner A exported, runner B imports with `from`: nothing runs, the image
// is A's; after other.txt changes, a new runner C runs the final RUN only.
void CheckSharedCache(Fixture& f, const std::vector<std::string>& to, const std::vector<std::string>& from) {
  ProcessResult a = f.Build("a", to);
  Fixture::Require(a);
  CHECK(Ran(a, "build"));
  CHECK(Ran(a, "final"));

  ProcessResult b = f.Build("b", from);
  Fixture::Require(b);
  CHECK_FALSE(Ran(b, "build"));
  CHECK_FALSE(Ran(b, "final"));
  CHECK(b.out == a.out);  // the same image ID: configs and layers come from A's records

  WriteFile(f.ctx + "/other.txt", "changed\n");
  ProcessResult c = f.Build("c", from);
  Fixture::Require(c);
  CHECK_FALSE(Ran(c, "build"));
  CHECK(Ran(c, "final"));
  // The changed image runs, built on layers imported from A.
  CHECK(f.Cat("c", Fixture::ImageId(c), "/app/final.txt") == "source\nchanged\n");
}

}  // namespace

TEST_CASE("a registry cache exported with mode=max lets an empty store build without running a step") {
  Fixture f;
  std::string ref = f.registry.host() + "/cache/app:ci";
  CheckSharedCache(f, {"--cache-to", "type=registry,ref=" + ref + ",mode=max"},
                   {"--cache-from", "type=registry,ref=" + ref});
}

TEST_CASE("a fully cached import downloads the records and the final image's own layers, nothing of other stages") {
  Fixture f;
  std::string ref = f.registry.host() + "/cache/app:ci";
  Fixture::Require(f.Build("a", {"--cache-to", "type=registry,ref=" + ref + ",mode=max"}));
  size_t before = f.BlobGets("cache/app") + f.BlobGets("base/busybox");
  ProcessResult b = f.Build("b", {"--cache-from", ref});
  Fixture::Require(b);
  CHECK_FALSE(Ran(b, "final"));
  // The records document, the base's config (FROM reads no layer) and the
  // final image's four layers, its base's included: not the build stage's two.
  CHECK(f.BlobGets("cache/app") + f.BlobGets("base/busybox") - before == 6);
}

TEST_CASE("a fully cached import exported back to its repository downloads no layer of other stages") {
  Fixture f;
  std::string ref = f.registry.host() + "/cache/app:ci";
  Fixture::Require(f.Build("a", {"--cache-to", "type=registry,ref=" + ref + ",mode=max"}));
  size_t before = f.BlobGets("cache/app") + f.BlobGets("base/busybox");
  ProcessResult b = f.Build("b", {"--cache-from", ref, "--cache-to", "type=registry,ref=" + ref + ",mode=max"});
  Fixture::Require(b);
  CHECK_FALSE(Ran(b, "final"));
  CHECK(f.BlobGets("cache/app") + f.BlobGets("base/busybox") - before == 6);  // as without the export
  // What B exported still serves a new runner completely.
  ProcessResult c = f.Build("c", {"--cache-from", ref});
  Fixture::Require(c);
  CHECK_FALSE(Ran(c, "build"));
  CHECK_FALSE(Ran(c, "final"));
}

TEST_CASE("after an import the same store hits locally for the steps whose layers it fetched") {
  Fixture f;
  std::string ref = f.registry.host() + "/cache/app:ci";
  Fixture::Require(f.Build("a", {"--cache-to", "type=registry,ref=" + ref + ",mode=max"}));
  Fixture::Require(f.Build("b", {"--cache-from", ref}));
  ProcessResult again = f.Build("b", {});
  Fixture::Require(again);
  // The final image's layers were fetched: its steps hit locally. The build
  // stage's never were: it runs, and makes the same file.
  CHECK_FALSE(Ran(again, "final"));
  CHECK(Ran(again, "build"));
}

TEST_CASE("a fully cached import pushed to its registry downloads and uploads no layer of its own") {
  Fixture f;
  std::string ref = f.registry.host() + "/cache/app:ci";
  std::string name = f.registry.host() + "/team/app:1";
  Fixture::Require(f.Build("a", {"--cache-to", "type=registry,ref=" + ref + ",mode=max"}));
  size_t before = f.BlobGets("cache/app"), base_before = f.BlobGets("base/busybox");
  ProcessResult b = f.Build("b", {"--cache-from", ref, "--push", "-t", name});
  Fixture::Require(b);
  CHECK_FALSE(Ran(b, "final"));
  // The records document and the base's config: every layer stayed there.
  CHECK(f.BlobGets("cache/app") - before == 1);
  CHECK(f.BlobGets("base/busybox") - base_before == 1);
  CHECK_THAT(b.err, Catch::Contains("Mounted from cache/app"));
  CHECK_THAT(b.err, Catch::Contains("Mounted from base/busybox"));
  CHECK_THAT(b.err, !Catch::Contains("Pushed"));

  // The local image names those layers at the registry; it is whole for
  // check, and a run fetches them.
  Fixture::Require(f.Bld("b", {"check"}));
  CHECK(f.Cat("b", name, "/app/final.txt") == "source\nother\n");
  CHECK(f.BlobGets("cache/app") - before == 4);
  CHECK(f.BlobGets("base/busybox") - base_before == 2);
}

TEST_CASE("an image whose layers stayed at the registry is built on, saved and pushed elsewhere with them") {
  Fixture f;
  std::string ref = f.registry.host() + "/cache/app:ci";
  std::string name = f.registry.host() + "/team/app:1";
  Fixture::Require(f.Build("a", {"--cache-to", "type=registry,ref=" + ref + ",mode=max"}));
  Fixture::Require(f.Build("b", {"--cache-from", ref, "--push", "-t", name}));
  // Each reader below fetches the image's three layers of its own, once.
  size_t before = f.BlobGets("cache/app");

  SECTION("a build FROM it fetches the layers its step runs on") {
    WriteFile(f.dir / "next/Dockerfile", "FROM " + name + "\nRUN cp /app/final.txt /copy.txt\n");
    ProcessResult next = f.Bld("b", {"build", "-q", "-t", "next", f.dir / "next"});
    Fixture::Require(next);
    CHECK(f.Cat("b", "next", "/copy.txt") == "source\nother\n");
    CHECK(f.BlobGets("cache/app") - before == 3);
  }
  SECTION("a save writes every layer, and the archive loads and runs elsewhere") {
    Fixture::Require(f.Bld("b", {"save", "-o", f.dir / "app.tar", name}));
    CHECK(f.BlobGets("cache/app") - before == 3);
    Fixture::Require(f.Bld("c", {"load", "-i", f.dir / "app.tar"}));
    CHECK(f.Cat("c", name, "/app/final.txt") == "source\nother\n");
  }
  SECTION("a push to another registry uploads the layers it fetched first") {
    RegistryServer other;
    std::string elsewhere = other.host() + "/copy/app:1";
    Fixture::Require(f.Bld("b", {"tag", name, elsewhere}));
    ProcessResult push = f.Bld("b", {"push", elsewhere});
    Fixture::Require(push);
    CHECK_THAT(push.err + push.out, Catch::Contains("Pushed"));
    CHECK(f.BlobGets("cache/app") - before == 3);
    CHECK(f.Cat("c", elsewhere, "/app/final.txt") == "source\nother\n");
  }
}

TEST_CASE("a push-only build that also exports a local cache writes every layer into the directory") {
  Fixture f;
  std::string ref = f.registry.host() + "/cache/app:ci";
  Fixture::Require(f.Build("a", {"--cache-to", "type=registry,ref=" + ref + ",mode=max"}));
  // B leaves the image's layers at the registry for its push, but the
  // directory it exports to must hold them.
  std::string dir = f.dir / "cache-dir";
  Fixture::Require(f.Build("b", {"--cache-from", ref, "--push", "-t", f.registry.host() + "/team/app:1",
                                 "--cache-to", "type=local,dest=" + dir + ",mode=max"}));
  ProcessResult c = f.Build("c", {"--cache-from", "type=local,src=" + dir});
  Fixture::Require(c);
  CHECK_FALSE(Ran(c, "build"));
  CHECK_FALSE(Ran(c, "final"));
  CHECK(f.Cat("c", Fixture::ImageId(c), "/app/final.txt") == "source\nother\n");
}

TEST_CASE("a local cache directory lets an empty store build without running a step") {
  Fixture f;
  std::string cache = f.dir / "ci-cache";
  CheckSharedCache(f, {"--cache-to", "type=local,dest=" + cache + ",mode=max"},
                   {"--cache-from", "type=local,src=" + cache});
  CHECK(std::filesystem::exists(cache + "/index.json"));
  CHECK(std::filesystem::exists(cache + "/oci-layout"));
}

TEST_CASE("a local cache export replaces its own entry of the layout's index and keeps the others") {
  Fixture f;
  std::string cache = f.dir / "shared-layout";
  std::string other = "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" +
                      std::string(64, 'a') + "\",\"size\":1,\"annotations\":{\"org.opencontainers.image.ref.name\":\"other\"}}";
  WriteFile(cache + "/index.json", "{\"schemaVersion\":2,\"manifests\":[" + other + "]}");
  Fixture::Require(f.Build("a", {"--cache-to", "type=local,dest=" + cache}));
  WriteFile(f.ctx + "/other.txt", "changed\n");
  Fixture::Require(f.Build("a", {"--cache-to", "type=local,dest=" + cache}));
  json index = json::parse(bld::testing::ReadFile(cache + "/index.json"));
  std::vector<std::string> names;
  for (const json& d : index["manifests"]) names.push_back(d["annotations"]["org.opencontainers.image.ref.name"]);
  CHECK(names == std::vector<std::string>{"other", "latest"});
}

TEST_CASE("a cache exported with mode=min holds the final stage's steps only") {
  Fixture f;
  std::string cache = f.dir / "min-cache";
  Fixture::Require(f.Build("a", {"--cache-to", "type=local,dest=" + cache}));
  ProcessResult b = f.Build("b", {"--cache-from", "type=local,src=" + cache});
  Fixture::Require(b);
  CHECK(Ran(b, "build"));  // not exported: runs again, and makes the same file
  CHECK_FALSE(Ran(b, "final"));
}

TEST_CASE("an inline cache in a pushed image lets an empty store reuse the final stage's steps") {
  Fixture f;
  std::string image = f.registry.host() + "/team/app:inline";
  ProcessResult a = f.Build("a", {"--cache-to", "type=inline", "--push", "-t", image});
  Fixture::Require(a);
  ProcessResult b = f.Build("b", {"--cache-from", image});
  Fixture::Require(b);
  // mode=min: the build stage is not in the image's cache and runs again;
  // it makes the same file, so the final stage's steps are all hits.
  CHECK(Ran(b, "build"));
  CHECK_FALSE(Ran(b, "final"));
  WriteFile(f.ctx + "/other.txt", "changed\n");
  ProcessResult c = f.Build("c", {"--cache-from", image});
  Fixture::Require(c);
  CHECK(Ran(c, "final"));
}

TEST_CASE("a missing cache to import is a warning and the build runs cold") {
  Fixture f;
  ProcessResult r = f.Build("b", {"--cache-from", f.registry.host() + "/nobody/cache:none", "--cache-from",
                                  "type=local,src=" + (f.dir / "no-such-dir")});
  Fixture::Require(r);
  CHECK_THAT(r.err, Catch::Contains("WARNING: --cache-from " + f.registry.host() + "/nobody/cache:none: not used"));
  CHECK_THAT(r.err, Catch::Contains("WARNING: --cache-from type=local,src=" + (f.dir / "no-such-dir") + ": not used"));
  CHECK(Ran(r, "build"));
  CHECK(Ran(r, "final"));
}

TEST_CASE("an unreachable cache registry is a warning and the build runs cold") {
  Fixture f;
  std::string gone;
  {
    RegistryServer stopped;  // its port is closed once it is stopped
    gone = stopped.host() + "/cache/app:ci";
  }
  ProcessResult r = f.Build("b", {"--cache-from", gone});
  Fixture::Require(r);
  CHECK_THAT(r.err, Catch::Contains("WARNING: --cache-from " + gone + ": not used"));
  CHECK(Ran(r, "final"));
}

TEST_CASE("an image without inline cache given to --cache-from is a warning") {
  Fixture f;
  ProcessResult r = f.Build("b", {"--cache-from", f.base});
  Fixture::Require(r);
  CHECK_THAT(r.err, Catch::Contains("is an image without inline cache metadata (build it with --cache-to type=inline)"));
  CHECK(Ran(r, "final"));
}

TEST_CASE("a cache exported with compression=zstd names zstd layers and is imported") {
  Fixture f;
  std::string cache = f.dir / "zstd-cache";
  Fixture::Require(f.Build("a", {"--cache-to", "type=local,dest=" + cache + ",mode=max,compression=zstd"}));
  json index = json::parse(bld::testing::ReadFile(cache + "/index.json"));
  std::string manifest_digest = index["manifests"][0]["digest"];
  json manifest = json::parse(bld::testing::ReadFile(cache + "/blobs/sha256/" + manifest_digest.substr(7)));
  CHECK(manifest["config"]["mediaType"] == "application/vnd.bld.build-cache.config.v1+json");
  size_t zstd = 0;
  for (const json& layer : manifest["layers"])
    if (layer["mediaType"].get<std::string>().ends_with("+zstd")) ++zstd;
  CHECK(zstd == 5);  // every layer the build made; the base's stays gzip, as pulled
  ProcessResult b = f.Build("b", {"--cache-from", "type=local,src=" + cache});
  Fixture::Require(b);
  CHECK_FALSE(Ran(b, "final"));
}

TEST_CASE("a cache export that fails fails the build, unless ignore-error=true") {
  Fixture f;
  WriteFile(f.dir / "a-file", "not a directory\n");
  std::string dest = f.dir / "a-file/cache";
  ProcessResult r = f.Build("a", {"--cache-to", "type=local,dest=" + dest});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("--cache-to type=local,dest=" + dest + ": cannot create"));
  r = f.Build("a", {"--cache-to", "type=local,dest=" + dest + ",ignore-error=true"});
  Fixture::Require(r);
  CHECK_THAT(r.err, Catch::Contains("WARNING: --cache-to type=local,dest=" + dest));
}

TEST_CASE("a cache spec bld does not carry out is refused before the build") {
  Fixture f;
  ProcessResult r = f.Build("a", {"--cache-to", "type=gha"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("--cache-to type=gha: type=gha is not supported by bld"));
  std::string pinned = f.registry.host() + "/cache/app@sha256:" + std::string(64, 'a');
  r = f.Build("a", {"--cache-to", "type=registry,ref=" + pinned});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("ref= names a digest; a cache is exported to a tag"));
  r = f.Build("a", {"--cache-from", "type=registry,ref=Not A Ref"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("--cache-from type=registry,ref=Not A Ref: ref=Not A Ref: "));
  CHECK(f.Bld("a", {"images"}).out.find("<none>") == std::string::npos);
}
