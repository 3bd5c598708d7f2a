// `bld build -o`: the built image exported as files, as a tar, as an OCI
// layout or docker-archive that skopeo and umoci read, or named and pushed;
// and every spec bld does not carry out refused before the build.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "registry/image_lookup.h"
#include "store/image.h"
#include "support/process.h"
#include "support/registry_server.h"
#include "support/test_images.h"

namespace fs = std::filesystem;
using bld::testing::ProcessResult;
using bld::testing::ReadFile;
using bld::testing::RunBld;
using bld::testing::RunProcess;
using bld::testing::TempDir;
using bld::testing::WriteFile;
using nlohmann::json;

namespace {

// A RUN that makes files, one that removes a file of its own and one of the
// base image (both whiteouts), and an owner to keep.
constexpr const char* kRunDockerfile =
    "FROM busybox\n"
    "RUN echo made > /made && mkdir /d && echo x > /d/gone && echo o > /owned && chown 1000:1001 /owned\n"
    "RUN rm /d/gone /bin/ls\n";

struct Env {
  TempDir dir;
  std::string root = dir / "store";
  std::string context = dir / "ctx";
  Env() {
    auto store = bld::store::Store::Open(root);
    bld::testing::MakeBusyboxImage(*store);
  }
  ProcessResult Bld(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", root});
    return RunBld(args);
  }
  ProcessResult Build(std::vector<std::string> args) const {
    args.insert(args.begin(), "build");
    args.push_back(context);
    return Bld(args);
  }
  bool HasImage(const std::string& name) const {
    auto store = bld::store::Store::Open(root);
    return bld::registry::FindLocalImage(*store, name).has_value();
  }
  ProcessResult Skopeo(std::vector<std::string> args) const { return bld::testing::RunSkopeo(dir, std::move(args)); }
};

void Require(const ProcessResult& r) {
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

// Every path under `dir`, relative to it.
std::set<std::string> Tree(const std::string& dir) {
  std::set<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) paths.insert(entry.path().lexically_relative(dir));
  return paths;
}

// The names a tar holds, without a leading "./" and trailing "/".
std::set<std::string> TarNames(const std::string& tar_bytes) {
  ProcessResult r = RunProcess({"tar", "-tf", "-"}, tar_bytes);
  Require(r);
  std::set<std::string> names;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("./", 0) == 0) line = line.substr(2);
    if (!line.empty() && line.back() == '/') line.pop_back();
    if (!line.empty()) names.insert(line);
  }
  return names;
}

}  // namespace

TEST_CASE("build -o DIR of a FROM scratch stage writes exactly its files, and names no image") {
  Env env;
  WriteFile(env.context + "/Dockerfile",
            "FROM busybox AS build\nRUN mkdir /out && echo built > /out/app\n"
            "FROM scratch AS dist\nCOPY --from=build /out/app /bin/app\nCOPY notes.txt /\n"
            "FROM busybox\nRUN echo not-this-stage > /last\n");
  WriteFile(env.context + "/notes.txt", "notes\n");
  std::string dist = env.dir / "dist";
  ProcessResult r = env.Build({"--target", "dist", "-o", dist});
  Require(r);
  CHECK(Tree(dist) == std::set<std::string>{"bin", "bin/app", "notes.txt"});
  CHECK(ReadFile(dist + "/bin/app") == "built\n");
  CHECK(ReadFile(dist + "/notes.txt") == "notes\n");
  // No name but busybox's: the build without -t is kept untagged.
  std::vector<std::string> named;
  auto store = bld::store::Store::Open(env.root);
  for (const auto& [ref, descriptor] : store->ListRefs())
    if (!bld::store::IsUntaggedRefName(ref)) named.push_back(ref);
  CHECK(named == std::vector<std::string>{"docker.io/library/busybox:latest"});
}

TEST_CASE("build -o type=local of a busybox image has the RUN's files, honours its rm, and keeps owners and links") {
  Env env;
  WriteFile(env.context + "/Dockerfile", kRunDockerfile);
  std::string out = env.dir / "rootfs";
  Require(env.Build({"-t", "kept:v1", "-o", "type=local,dest=" + out}));
  CHECK(ReadFile(out + "/made") == "made\n");
  CHECK(fs::is_directory(out + "/d"));
  CHECK_FALSE(fs::exists(out + "/d/gone"));
  CHECK_FALSE(fs::exists(fs::symlink_status(out + "/bin/ls")));
  CHECK(fs::is_symlink(out + "/bin/sh"));
  CHECK(fs::is_regular_file(out + "/bin/busybox"));
  struct stat st;
  REQUIRE(::stat((out + "/owned").c_str(), &st) == 0);
  CHECK(st.st_uid == 1000);
  CHECK(st.st_gid == 1001);
  // -t still names the image.
  CHECK(env.HasImage("kept:v1"));
}

TEST_CASE("build -o type=tar writes the filesystem as one tar to a file, and -o - to stdout instead of the image ID") {
  Env env;
  WriteFile(env.context + "/Dockerfile", kRunDockerfile);
  std::string file = env.dir / "rootfs.tar";
  ProcessResult r = env.Build({"-o", "type=tar,dest=" + file});
  Require(r);
  CHECK_THAT(r.out, Catch::StartsWith("sha256:"));
  std::set<std::string> names = TarNames(ReadFile(file));
  CHECK(names.count("made") == 1);
  CHECK(names.count("bin/busybox") == 1);
  CHECK(names.count("d") == 1);
  CHECK(names.count("d/gone") == 0);
  CHECK(names.count("bin/ls") == 0);

  ProcessResult piped = env.Build({"-q", "-o", "-"});
  Require(piped);
  CHECK(TarNames(piped.out) == names);
}

TEST_CASE("build -o type=oci writes an archive skopeo reads, and with tar=false a layout umoci unpacks") {
  Env env;
  WriteFile(env.context + "/Dockerfile", kRunDockerfile);
  std::string archive = env.dir / "app-oci.tar";
  Require(env.Build({"-t", "team/app:v1", "-o", "type=oci,dest=" + archive}));
  ProcessResult inspect = env.Skopeo({"inspect", "oci-archive:" + archive});
  Require(inspect);
  json ours = json::parse(env.Bld({"inspect", "team/app:v1"}).out)[0];
  CHECK(json::parse(inspect.out)["Digest"] == ours["Descriptor"]["digest"]);
  CHECK(json::parse(inspect.out)["Layers"].size() == 3);

  std::string layout = env.dir / "layout";
  Require(env.Build({"-o", "type=oci,dest=" + layout + ",tar=false,name=other/name:v2"}));
  CHECK(fs::is_regular_file(layout + "/oci-layout"));
  std::string bundle = env.dir / "bundle";
  Require(RunProcess({"umoci", "unpack", "--image", layout + ":v2", bundle}));
  CHECK(ReadFile(bundle + "/rootfs/made") == "made\n");
  CHECK_FALSE(fs::exists(bundle + "/rootfs/d/gone"));
  // name= names the image in the layout only, not in the store.
  CHECK_FALSE(env.HasImage("other/name:v2"));
}

TEST_CASE("build -o type=docker writes a docker-archive skopeo reads, the image named by name=") {
  Env env;
  WriteFile(env.context + "/Dockerfile", kRunDockerfile);
  std::string archive = env.dir / "app-docker.tar";
  Require(env.Build({"-o", "type=docker,dest=" + archive + ",name=team/app:v3"}));
  ProcessResult inspect = env.Skopeo({"inspect", "docker-archive:" + archive});
  Require(inspect);
  CHECK(json::parse(inspect.out)["Layers"].size() == 3);
  ProcessResult manifest = RunProcess({"tar", "-xOf", archive, "manifest.json"});
  Require(manifest);
  CHECK(json::parse(manifest.out)[0]["RepoTags"] == json({"team/app:v3"}));
}

TEST_CASE("build -o type=image names the image, and push=true pushes it") {
  bld::testing::RegistryServer registry;
  Env env;
  WriteFile(env.context + "/Dockerfile", kRunDockerfile);
  Require(env.Build({"-o", "type=image,name=local/app:v1"}));
  CHECK(env.HasImage("local/app:v1"));

  std::string name = registry.host() + "/team/app:v1";
  ProcessResult r = env.Build({"-o", "type=image,name=" + name + ",push=true"});
  Require(r);
  CHECK_THAT(r.err, Catch::Contains("v1: digest: sha256:"));
  CHECK(r.out.size() == 72);  // the image ID alone
  Require(env.Skopeo({"inspect", "--tls-verify=false", "docker://" + name}));
}

TEST_CASE("a bad -o spec is refused before the build, naming the flag and the bad key or value") {
  Env env;
  WriteFile(env.context + "/Dockerfile", "FROM busybox\nRUN echo never-run\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"type=registry,name=a", "--output type=registry,name=a: unknown type=registry"},
      {"type=oci,dest=x.tar,compression=zstd", "type=oci takes no compression="},
      {"type=local", "type=local needs dest=DIR"},
      {"type=docker,name=a", "type=docker needs dest=FILE"},
      {"type=image,push=maybe", "push=maybe: use push=true or push=false"},
      {"type=image,push=true", "needs a name to push"},
      {"type=image,name=Bad:Name", "name=Bad:Name"},
  };
  for (const auto& [spec, message] : cases) {
    INFO(spec);
    ProcessResult r = env.Build({"--progress", "plain", "-o", spec});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains(message));
    CHECK_THAT(r.err, !Catch::Contains("never-run"));
  }
  ProcessResult two = env.Build({"-o", "-", "-o", "type=docker,dest=-"});
  CHECK(two.exit_code == 1);
  CHECK_THAT(two.err, Catch::Contains("only one output can go to stdout"));
}
