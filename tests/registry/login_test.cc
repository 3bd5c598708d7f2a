// Logging in checks credentials against the registry, Basic or token, and
// tokens are fetched once per scope and reused.
#include "registry/login.h"

#include <catch2/catch.hpp>

#include "registry/puller.h"
#include "registry/pusher.h"
#include "registry/registry_error.h"
#include "support/process.h"
#include "support/registry_server.h"
#include "support/registry_store_images.h"

using bld::registry::Credentials;
using bld::registry::DockerConfig;
using bld::registry::Login;
using bld::registry::Reference;
using bld::registry::RegistryError;
using bld::testing::OptionsFor;
using bld::testing::RegistryServer;
using bld::testing::RegistryServerOptions;
using bld::testing::TempDir;
using Auth = RegistryServerOptions::Auth;

TEST_CASE("login with a good password on a Basic registry returns the credentials to store") {
  RegistryServer registry({.auth = Auth::kBasic});
  TempDir config;
  Credentials c = Login(OptionsFor(registry, config.path()), registry.host(), {"bld-user", "s3cret-pass", ""});
  CHECK(c.username == "bld-user");
  CHECK(c.password == "s3cret-pass");
  CHECK(c.identity_token.empty());
}

TEST_CASE("login with a wrong password on a Basic registry is a 401 with the registry's message") {
  RegistryServer registry({.auth = Auth::kBasic});
  TempDir config;
  try {
    Login(OptionsFor(registry, config.path()), registry.host(), {"bld-user", "wrong", ""});
    FAIL("logged in");
  } catch (const RegistryError& e) {
    CHECK(e.status() == 401);
    CHECK_THAT(e.what(), Catch::StartsWith("login to " + registry.host()) && Catch::Contains("401 Unauthorized") &&
                             Catch::Contains("UNAUTHORIZED: authentication required") &&
                             Catch::Contains("bld login " + registry.host()));
  }
}

TEST_CASE("login on a token registry trades the password for the token server's refresh token") {
  RegistryServer registry({.auth = Auth::kToken});
  TempDir config;
  Credentials c = Login(OptionsFor(registry, config.path()), registry.host(), {"bld-user", "s3cret-pass", ""});
  CHECK(c.username == "bld-user");
  CHECK(c.password.empty());
  CHECK_FALSE(c.identity_token.empty());
  CHECK(registry.issuer()->posts() == 1);
}

TEST_CASE("an identity token from login is enough to push and pull") {
  RegistryServer registry({.auth = Auth::kToken});
  TempDir config, dir;
  auto options = OptionsFor(registry, config.path());
  Credentials c = Login(options, registry.host(), {"bld-user", "s3cret-pass", ""});
  DockerConfig(config.path()).Store(registry.host(), c);
  auto store = bld::store::Store::Open(dir / "store");
  std::string name = registry.host() + "/team/app:v1";
  bld::testing::PutInStore(*store, name, bld::testing::BuildTestImage(bld::testing::SmallImageSpec()));
  bld::registry::Push(*store, Reference::ParseDockerRef(name), {options});
  CHECK(registry.issuer()->refused() == 0);
}

TEST_CASE("login on a token server without OAuth2 falls back to GET with Basic credentials") {
  RegistryServer registry({.auth = Auth::kToken, .token_accepts_post = false});
  TempDir config;
  Credentials c = Login(OptionsFor(registry, config.path()), registry.host(), {"bld-user", "s3cret-pass", ""});
  CHECK(c.password == "s3cret-pass");
  CHECK(c.identity_token.empty());
  CHECK(registry.issuer()->posts() == 1);
  CHECK(registry.issuer()->gets() == 1);
}

TEST_CASE("login with a wrong password on a token registry gives the token server's message") {
  RegistryServer registry({.auth = Auth::kToken});
  TempDir config;
  try {
    Login(OptionsFor(registry, config.path()), registry.host(), {"bld-user", "wrong", ""});
    FAIL("logged in");
  } catch (const RegistryError& e) {
    CHECK(e.status() == 401);
    CHECK_THAT(e.what(), Catch::Contains("401 Unauthorized") && Catch::Contains("incorrect username or password") &&
                             Catch::Contains("bld login " + registry.host()));
  }
}

TEST_CASE("tokens are cached: a push and a pull ask the token server once per scope") {
  RegistryServer registry({.auth = Auth::kToken});
  TempDir config, dir;
  DockerConfig(config.path()).Store(registry.host(), {"bld-user", "s3cret-pass", ""});
  auto options = OptionsFor(registry, config.path());
  auto store = bld::store::Store::Open(dir / "store");
  std::string name = registry.host() + "/team/app:v1";
  bld::testing::PutInStore(*store, name, bld::testing::BuildTestImage(bld::testing::SmallImageSpec()));
  bld::registry::Push(*store, Reference::ParseDockerRef(name), {options});
  int after_push = registry.issuer()->posts() + registry.issuer()->gets();
  CHECK(after_push == 1);
  auto other = bld::store::Store::Open(dir / "other");
  bld::registry::PullOptions pull;
  pull.registry = options;
  bld::registry::Pull(*other, Reference::ParseDockerRef(name), pull);
  CHECK(registry.issuer()->posts() + registry.issuer()->gets() == after_push + 1);
}
