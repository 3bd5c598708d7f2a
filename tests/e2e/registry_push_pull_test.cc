// `bld pull` and `bld push` against a real registry: docker's output lines,
// stored credentials, TLS trust and interop with skopeo.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store/store.h"
#include "support/process.h"
#include "support/registry_server.h"
#include "support/registry_store_images.h"
#include "support/registry_test_image.h"

using bld::testing::BuildTestImage;
using bld::testing::BuildTestIndex;
using bld::testing::ProcessResult;
using bld::testing::PutInStore;
using bld::testing::RegistryServer;
using bld::testing::RegistryServerOptions;
using bld::testing::RunBld;
using bld::testing::RunProcess;
using bld::testing::SmallImageSpec;
using bld::testing::TempDir;
using bld::testing::TestImage;
using bld::testing::TestImageSpec;
using bld::testing::TestIndex;
using bld::testing::WriteFile;
using bld::testing::WriteOciLayout;
using nlohmann::json;
using Auth = RegistryServerOptions::Auth;

namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool HasLine(const std::string& text, const std::string& line) {
  auto lines = Lines(text);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::string ShortId(const std::string& digest) { return digest.substr(7, 12); }

struct Env {
  TempDir dir, config;
  std::string root = dir / "root";
  std::map<std::string, std::string> vars = {{"DOCKER_CONFIG", config.path()}, {"BLD_CONFIG", dir / "none.json"}};

  ProcessResult Bld(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--root", root});
    return RunBld(args, input, vars);
  }
  ProcessResult Skopeo(std::vector<std::string> args) { return bld::testing::RunSkopeo(dir, std::move(args)); }
  // Puts the image in the store the bld commands use.
  void Put(const std::string& name, const TestImage& image) {
    auto store = bld::store::Store::Open(root);
    PutInStore(*store, name, image);
  }
};

}  // namespace

TEST_CASE("bld push prints docker's lines and skopeo reads the result") {
  RegistryServer registry;
  Env env;
  TestImage image = BuildTestImage(SmallImageSpec("e2e push"));
  std::string name = registry.host() + "/e2e/app:v1";
  env.Put(name, image);
  ProcessResult r = env.Bld({"push", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto lines = Lines(r.out);
  REQUIRE(!lines.empty());
  CHECK(lines.front() == "The push refers to repository [" + registry.host() + "/e2e/app]");
  for (const auto& layer : image.layers) {
    CHECK(HasLine(r.out, ShortId(layer.digest) + ": Preparing"));
    CHECK(HasLine(r.out, ShortId(layer.digest) + ": Pushed"));
  }
  CHECK(lines.back() == "v1: digest: " + image.manifest.digest + " size: " + std::to_string(image.manifest.data.size()));

  ProcessResult inspect = env.Skopeo({"inspect", "--tls-verify=false", "docker://" + name});
  INFO(inspect.err);
  REQUIRE(inspect.exit_code == 0);
  CHECK(json::parse(inspect.out)["Digest"] == image.manifest.digest);

  ProcessResult again = env.Bld({"push", name});
  for (const auto& layer : image.layers) CHECK(HasLine(again.out, ShortId(layer.digest) + ": Layer already exists"));
}

TEST_CASE("bld pull prints docker's lines, and a second pull finds the image up to date") {
  RegistryServer registry;
  Env env;
  TestImage image = BuildTestImage(SmallImageSpec("e2e pull"));
  WriteOciLayout(env.dir / "layout", "v1", image);
  std::string name = registry.host() + "/e2e/pulled:v1";
  ProcessResult copy = env.Skopeo({"copy", "--dest-tls-verify=false", "oci:" + env.dir / "layout" + ":v1", "docker://" + name});
  INFO(copy.err);
  REQUIRE(copy.exit_code == 0);

  ProcessResult r = env.Bld({"pull", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto lines = Lines(r.out);
  CHECK(lines.front() == "v1: Pulling from e2e/pulled");
  for (const auto& layer : image.layers) {
    CHECK(HasLine(r.out, ShortId(layer.digest) + ": Pulling fs layer"));
    CHECK(HasLine(r.out, ShortId(layer.digest) + ": Download complete"));
  }
  CHECK(HasLine(r.out, "Digest: " + image.manifest.digest));
  CHECK(HasLine(r.out, "Status: Downloaded newer image for " + name));
  CHECK(lines.back() == name);

  ProcessResult again = env.Bld({"pull", name});
  for (const auto& layer : image.layers) CHECK(HasLine(again.out, ShortId(layer.digest) + ": Already exists"));
  CHECK(HasLine(again.out, "Status: Image is up to date for " + name));
}

TEST_CASE("bld pull without a tag pulls latest and says so") {
  RegistryServer registry;
  Env env;
  TestImage image = BuildTestImage(SmallImageSpec("latest"));
  env.Put(registry.host() + "/e2e/app:latest", image);
  REQUIRE(env.Bld({"push", registry.host() + "/e2e/app"}).exit_code == 0);
  Env other;
  ProcessResult r = other.Bld({"pull", registry.host() + "/e2e/app"});
  REQUIRE(r.exit_code == 0);
  CHECK(Lines(r.out).front() == "Using default tag: latest");
  CHECK(Lines(r.out).back() == registry.host() + "/e2e/app:latest");
}

TEST_CASE("bld pull --platform picks that image out of a multi-platform index") {
  RegistryServer registry;
  Env env;
  TestImageSpec arm64 = SmallImageSpec("arm64");
  arm64.architecture = "arm64";
  TestIndex index = BuildTestIndex({SmallImageSpec("amd64"), arm64});
  WriteOciLayout(env.dir / "layout", "multi", index);
  std::string name = registry.host() + "/e2e/multi:v1";
  REQUIRE(env.Skopeo({"copy", "--all", "--dest-tls-verify=false", "oci:" + env.dir / "layout" + ":multi", "docker://" + name})
              .exit_code == 0);
  ProcessResult r = env.Bld({"pull", "--platform", "linux/arm64", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(HasLine(r.out, "Digest: " + index.index.digest));
  CHECK(HasLine(r.out, ShortId(index.images[1].layers[1].digest) + ": Download complete"));
  auto store = bld::store::Store::Open(env.root);
  CHECK(store->GetRef(name)->digest.str() == index.images[1].manifest.digest);
}

TEST_CASE("bld push and pull use the credentials bld login stored") {
  RegistryServer registry({.auth = Auth::kToken});
  Env env;
  REQUIRE(env.Bld({"login", "-u", "bld-user", "--password-stdin", registry.host()}, "s3cret-pass").exit_code == 0);
  TestImage image = BuildTestImage(SmallImageSpec("with login"));
  std::string name = registry.host() + "/private/app:v1";
  env.Put(name, image);
  ProcessResult push = env.Bld({"push", name});
  INFO(push.err);
  CHECK(push.exit_code == 0);
  Env anonymous;
  ProcessResult refused = anonymous.Bld({"pull", name});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Catch::Contains("401 Unauthorized") && Catch::Contains("bld login " + registry.host()));
  anonymous.vars["DOCKER_CONFIG"] = env.config.path();
  CHECK(anonymous.Bld({"pull", name}).exit_code == 0);
}

TEST_CASE("bld pull trusts a TLS registry whose CA is in BLD_CERTS_D, and refuses it otherwise") {
  RegistryServer registry({.tls = true});
  Env env;
  TestImage image = BuildTestImage(SmallImageSpec("tls"));
  std::string name = registry.host() + "/secure/app:v1";
  env.Put(name, image);
  env.vars["BLD_CERTS_D"] = registry.certs_dir();
  REQUIRE(env.Bld({"push", name}).exit_code == 0);
  Env other;
  other.vars["BLD_CERTS_D"] = other.dir / "empty";
  ProcessResult untrusted = other.Bld({"pull", name});
  CHECK(untrusted.exit_code == 1);
  CHECK_THAT(untrusted.err, Catch::Contains("certs.d/" + registry.host() + "/ca.crt"));
  other.vars["BLD_CERTS_D"] = registry.certs_dir();
  CHECK(other.Bld({"pull", name}).exit_code == 0);
}

TEST_CASE("a registry named insecure is reached without verifying its certificate") {
  RegistryServer registry({.tls = true});
  Env env;
  env.vars["BLD_CERTS_D"] = env.dir / "empty";
  TestImage image = BuildTestImage(SmallImageSpec("insecure"));
  std::string name = registry.host() + "/insecure/app:v1";
  env.Put(name, image);
  CHECK(env.Bld({"push", "--insecure-registry", registry.host(), name}).exit_code == 0);
  WriteFile(env.dir / "bld.json", R"({"insecure-registries": [")" + registry.host() + R"("]})");
  env.vars["BLD_CONFIG"] = env.dir / "bld.json";
  Env other;
  other.vars = env.vars;
  CHECK(other.Bld({"pull", name}).exit_code == 0);
}

TEST_CASE("bld push of an image the store lacks, and bld pull of a bad name, fail clearly") {
  Env env;
  ProcessResult push = env.Bld({"push", "127.0.0.1:1/none/app:v1"});
  CHECK(push.exit_code == 1);
  CHECK_THAT(push.err, Catch::Contains("no image 127.0.0.1:1/none/app:v1 in the store"));
  ProcessResult pull = env.Bld({"pull", "Bad//Name"});
  CHECK(pull.exit_code == 1);
  CHECK_THAT(pull.err, Catch::Contains("invalid reference format"));
}
