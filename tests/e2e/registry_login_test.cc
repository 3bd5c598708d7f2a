// `bld login` and `bld logout` against a real registry, as users run them.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/registry_server.h"
#include "support/registry_tls.h"

using bld::testing::Base64Decode;
using bld::testing::ProcessResult;
using bld::testing::ReadFile;
using bld::testing::RegistryServer;
using bld::testing::RegistryServerOptions;
using bld::testing::RunBld;
using bld::testing::TempDir;
using nlohmann::json;
using Auth = RegistryServerOptions::Auth;

namespace {

std::map<std::string, std::string> Env(const TempDir& config) { return {{"DOCKER_CONFIG", config.path()}}; }

json Auths(const TempDir& config) { return json::parse(ReadFile(config / "config.json"))["auths"]; }

}  // namespace

TEST_CASE("bld login -p checks the password and stores it in config.json with mode 0600") {
  RegistryServer registry({.auth = Auth::kBasic});
  TempDir config;
  ProcessResult r = RunBld({"login", "-u", "bld-user", "-p", "s3cret-pass", registry.host()}, "", Env(config));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "Login Succeeded\n");
  CHECK_THAT(r.err, Catch::Contains("WARNING! Using --password via the CLI is insecure. Use --password-stdin."));
  CHECK_THAT(r.err, Catch::Contains("stored unencrypted in " + config / "config.json"));
  struct stat st;
  REQUIRE(stat((config / "config.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(Base64Decode(Auths(config)[registry.host()]["auth"].get<std::string>()) == "bld-user:s3cret-pass");
}

TEST_CASE("bld login --password-stdin on a token registry stores the token server's identity token") {
  RegistryServer registry({.auth = Auth::kToken});
  TempDir config;
  ProcessResult r =
      RunBld({"login", "--username", "bld-user", "--password-stdin", registry.host()}, "s3cret-pass\n", Env(config));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "Login Succeeded\n");
  CHECK_THAT(r.err, !Catch::Contains("Using --password via the CLI"));
  json entry = Auths(config)[registry.host()];
  CHECK_FALSE(entry["identitytoken"].get<std::string>().empty());
  CHECK(Base64Decode(entry["auth"].get<std::string>()) == "bld-user:");
}

TEST_CASE("bld login keeps the other entries and settings of config.json") {
  RegistryServer registry({.auth = Auth::kBasic});
  TempDir config;
  bld::testing::WriteFile(config / "config.json", R"({"auths":{"other.example.com":{"auth":"YTpi"}},"detachKeys":"ctrl-x"})");
  ProcessResult r = RunBld({"login", "-u", "bld-user", "--password-stdin", registry.host()}, "s3cret-pass", Env(config));
  REQUIRE(r.exit_code == 0);
  json written = json::parse(ReadFile(config / "config.json"));
  CHECK(written["detachKeys"] == "ctrl-x");
  CHECK(written["auths"]["other.example.com"]["auth"] == "YTpi");
  CHECK(written["auths"].contains(registry.host()));
}

TEST_CASE("bld login with a wrong password shows the registry's 401 and stores nothing") {
  RegistryServer registry({.auth = Auth::kBasic});
  TempDir config;
  ProcessResult r = RunBld({"login", "-u", "bld-user", "--password-stdin", registry.host()}, "wrong\n", Env(config));
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("Error: login to " + registry.host()) && Catch::Contains("401 Unauthorized") &&
                        Catch::Contains("UNAUTHORIZED: authentication required") &&
                        Catch::Contains("bld login " + registry.host()));
  CHECK_FALSE(std::filesystem::exists(config / "config.json"));
}

TEST_CASE("bld login with a wrong password on a token registry shows the token server's message") {
  RegistryServer registry({.auth = Auth::kToken});
  TempDir config;
  ProcessResult r = RunBld({"login", "-u", "bld-user", "-p", "wrong", registry.host()}, "", Env(config));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("401 Unauthorized") && Catch::Contains("incorrect username or password") &&
                        Catch::Contains("bld login " + registry.host()));
}

TEST_CASE("bld login --password-stdin needs a username, and refuses -p with it") {
  TempDir config;
  ProcessResult no_user = RunBld({"login", "--password-stdin", "127.0.0.1:1"}, "pw\n", Env(config));
  CHECK(no_user.exit_code == 1);
  CHECK_THAT(no_user.err, Catch::Contains("Must provide --username with --password-stdin"));
  ProcessResult both = RunBld({"login", "-u", "u", "-p", "x", "--password-stdin", "127.0.0.1:1"}, "pw\n", Env(config));
  CHECK(both.exit_code == 1);
  CHECK_THAT(both.err, Catch::Contains("mutually exclusive"));
}

TEST_CASE("bld login without a terminal or a password says it cannot prompt") {
  TempDir config;
  ProcessResult r = RunBld({"login", "-u", "u", "127.0.0.1:1"}, "", Env(config));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("Cannot perform an interactive login from a non TTY device"));
}

TEST_CASE("bld logout removes the stored credentials, and says when there were none") {
  RegistryServer registry({.auth = Auth::kBasic});
  TempDir config;
  REQUIRE(RunBld({"login", "-u", "bld-user", "--password-stdin", registry.host()}, "s3cret-pass", Env(config)).exit_code == 0);
  ProcessResult out = RunBld({"logout", registry.host()}, "", Env(config));
  CHECK(out.exit_code == 0);
  CHECK(out.out == "Removing login credentials for " + registry.host() + "\n");
  CHECK_FALSE(Auths(config).contains(registry.host()));
  ProcessResult again = RunBld({"logout", registry.host()}, "", Env(config));
  CHECK(again.exit_code == 0);
  CHECK(again.out == "Not logged in to " + registry.host() + "\n");
}
