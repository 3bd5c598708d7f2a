// The registry joined to the builder: an image bld builds is pushed and the
// peers run it; an image a peer pushed is the FROM of a bld build, pulled on
// demand. The registry is Debian's docker-registry on a 127.0.0.1 port.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/busybox.h"
#include "support/podman.h"
#include "support/process.h"
#include "support/registry_server.h"

using bld::testing::PodmanEnv;
using bld::testing::ProcessResult;
using bld::testing::RegistryServer;
using bld::testing::RunBld;
using bld::testing::RunProcess;
using bld::testing::TempDir;
using bld::testing::WriteFile;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  std::string root = dir / "store";
  std::map<std::string, std::string> env = {{"DOCKER_CONFIG", dir / "docker"}, {"BLD_CONFIG", dir / "none.json"}};

  ProcessResult Bld(std::vector<std::string> args, const std::string& store = "") {
    args.insert(args.begin(), {"--root", store.empty() ? root : store});
    return RunBld(args, "", env);
  }
  ProcessResult Skopeo(std::vector<std::string> args) { return bld::testing::RunSkopeo(dir, std::move(args)); }
  void ImportBusybox(const std::string& name) {
    bld::testing::MakeBusyboxTar(dir / "busybox.tar");
    Require(Bld({"import", dir / "busybox.tar", name}));
  }
  static void Require(const ProcessResult& r) {
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
};

}  // namespace

TEST_CASE("the hello-world image bld builds and pushes is inspected by skopeo and run by podman") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox("busybox");
  std::string name = registry.host() + "/geektime/helloworld:v1";
  Fixture::Require(f.Bld({"build", "-q", "-t", name, std::string(BLD_SOURCE_DIR) + "/testdata/helloworld"}));
  ProcessResult r = f.Bld({"push", name});
  Fixture::Require(r);
  CHECK_THAT(r.out, Catch::Contains("v1: digest: sha256:"));

  r = f.Skopeo({"inspect", "--tls-verify=false", "--config", "docker://" + name});
  Fixture::Require(r);
  json config = json::parse(r.out);
  CHECK(config["config"]["WorkingDir"] == "/app");
  CHECK(config["config"]["Cmd"] == json({"httpd", "-f", "-v", "-p", "80", "-h", "/app"}));
  CHECK(config["config"]["ExposedPorts"].contains("80/tcp"));

  // The CGI script the image serves, run by podman in the pushed image.
  r = RunProcess({"podman", "run", "--rm", "--tls-verify=false", "--network", "none", name,
                  "/app/cgi-bin/index.cgi"},
                 "", PodmanEnv(f.dir));
  Fixture::Require(r);
  CHECK_THAT(r.out, Catch::Contains("Hello World!"));
}

TEST_CASE("bld build --push pushes every tag after the build and keeps stdout for the image ID") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox("busybox");
  WriteFile(f.dir / "ctx/Dockerfile", "FROM busybox\nRUN echo pushed > /pushed\n");
  std::string a = registry.host() + "/team/app:v1";
  std::string b = registry.host() + "/team/app:v2";
  ProcessResult r = f.Bld({"build", "--progress", "plain", "--push", "-t", a, "-t", b, f.dir / "ctx"});
  Fixture::Require(r);
  CHECK(r.out.rfind("sha256:", 0) == 0);
  CHECK(r.out.size() == 72);  // "sha256:" + 64 hex + newline: nothing else on stdout
  CHECK_THAT(r.err, Catch::Contains("v1: digest: sha256:") && Catch::Contains("v2: digest: sha256:"));
  for (const std::string& name : {a, b}) Fixture::Require(f.Skopeo({"inspect", "--tls-verify=false", "docker://" + name}));
}

TEST_CASE("bld build --push without a tag is refused before building") {
  Fixture f;
  WriteFile(f.dir / "ctx/Dockerfile", "FROM scratch\n");
  ProcessResult r = f.Bld({"build", "--push", f.dir / "ctx"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("--push needs a name to push: add -t NAME[:TAG]"));
}

TEST_CASE("a FROM image that is not local is pulled from its registry, here one skopeo pushed") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox("busybox");
  std::string archive = f.dir / "busybox-oci.tar";
  Fixture::Require(f.Bld({"save", "--format", "oci", "-o", archive, "busybox"}));
  std::string name = registry.host() + "/mirror/busybox:stable";
  Fixture::Require(f.Skopeo({"copy", "--dest-tls-verify=false", "oci-archive:" + archive, "docker://" + name}));

  // A store that has never seen the image.
  std::string fresh = f.dir / "fresh-store";
  WriteFile(f.dir / "ctx/Dockerfile", "FROM " + name + "\nRUN echo \"ran on $(busybox | head -1 | cut -c1-7)\"\n");
  ProcessResult r = f.Bld({"build", "--progress", "plain", "-t", "pulled-base", f.dir / "ctx"}, fresh);
  Fixture::Require(r);
  CHECK_THAT(r.err, Catch::Contains("ran on BusyBox"));
  // The base is in the store under its own name now, and a second build
  // uses it without the registry.
  CHECK_THAT(f.Bld({"images"}, fresh).out, Catch::Contains(registry.host() + "/mirror/busybox"));
}

TEST_CASE("a FROM image that is neither local nor in its registry fails naming both") {
  RegistryServer registry;
  Fixture f;
  std::string name = registry.host() + "/nobody/missing:v1";
  WriteFile(f.dir / "ctx/Dockerfile", "FROM " + name + "\n");
  ProcessResult r = f.Bld({"build", f.dir / "ctx"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("FROM " + name) && Catch::Contains("404") && Catch::Contains("nobody/missing"));
}

TEST_CASE("bld build --pull pulls a base that is local again, and its new content is used") {
  RegistryServer registry;
  Fixture f;
  f.ImportBusybox("busybox");
  std::string name = registry.host() + "/team/base:v1";
  WriteFile(f.dir / "base1/Dockerfile", "FROM busybox\nRUN echo one > /version\n");
  WriteFile(f.dir / "base2/Dockerfile", "FROM busybox\nRUN echo two > /version\n");
  WriteFile(f.dir / "app/Dockerfile", "FROM " + name + "\nRUN cat /version\n");
  // The store that builds the app has version one; the registry gets two
  // from another store.
  Fixture::Require(f.Bld({"build", "-q", "-t", name, f.dir / "base1"}));
  std::string other = f.dir / "other-store";
  Fixture::Require(f.Bld({"import", f.dir / "busybox.tar", "busybox"}, other));
  Fixture::Require(f.Bld({"build", "-q", "--push", "-t", name, f.dir / "base2"}, other));

  ProcessResult r = f.Bld({"build", "--progress", "plain", f.dir / "app"});
  Fixture::Require(r);
  CHECK_THAT(r.err, Catch::Contains(" one"));
  r = f.Bld({"build", "--progress", "plain", "--pull", f.dir / "app"});
  Fixture::Require(r);
  CHECK_THAT(r.err, Catch::Contains(" two"));
}
