// Registry errors say which registry, which repository, which status, what
// the registry said, and how to log in when that is the fix.
#include "registry/registry_error.h"

#include <catch2/catch.hpp>

using bld::registry::HttpResponse;
using bld::registry::LoginCommand;
using bld::registry::MakeRegistryError;
using bld::registry::ParseRegistryErrors;

namespace {

HttpResponse Answer(long status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("the distribution error document is parsed, detail included") {
  auto e = ParseRegistryErrors(
      R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v9"}},{"code":"X","message":"y","detail":"z"}]})");
  REQUIRE(e.size() == 2);
  CHECK(e[0].code == "MANIFEST_UNKNOWN");
  CHECK(e[0].message == "manifest unknown");
  CHECK(e[0].detail == R"({"Tag":"v9"})");
  CHECK(e[1].detail == "z");
}

TEST_CASE("token server errors are understood in Docker Hub's and OAuth2's forms") {
  CHECK(ParseRegistryErrors(R"({"details":"incorrect username or password"})")[0].message ==
        "incorrect username or password");
  auto oauth = ParseRegistryErrors(R"({"error":"invalid_grant","error_description":"expired"})");
  CHECK(oauth[0].code == "invalid_grant");
  CHECK(oauth[0].message == "expired");
  CHECK(ParseRegistryErrors("<html>nginx</html>").empty());
}

TEST_CASE("a registry error names the action, registry, status, repository and the registry's words") {
  auto e = MakeRegistryError("pull 127.0.0.1:5000/app:v9", "127.0.0.1:5000", "app",
                             Answer(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})"),
                             false);
  CHECK(std::string(e.what()) ==
        "pull 127.0.0.1:5000/app:v9: 127.0.0.1:5000 answered 404 Not Found for repository app: "
        "MANIFEST_UNKNOWN: manifest unknown");
  CHECK(e.status() == 404);
  CHECK(e.HasCode("MANIFEST_UNKNOWN"));
}

TEST_CASE("401 tells how to log in, and says when the credentials were refused") {
  auto body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
  auto anonymous = MakeRegistryError("push r.example.com/app:v1", "r.example.com", "app", Answer(401, body), false);
  CHECK_THAT(anonymous.what(), Catch::Contains("401 Unauthorized") && Catch::Contains("UNAUTHORIZED: authentication required") &&
                                   Catch::EndsWith("to log in, run: bld login r.example.com"));
  auto refused = MakeRegistryError("push r.example.com/app:v1", "r.example.com", "app", Answer(401, body), true);
  CHECK_THAT(refused.what(), Catch::Contains("credentials were refused") && Catch::Contains("bld login r.example.com"));
  auto denied = MakeRegistryError("push docker.io/library/x:1", "docker.io", "library/x",
                                  Answer(403, R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})"),
                                  true);
  CHECK_THAT(denied.what(), Catch::Contains("403 Forbidden") && Catch::Contains("DENIED") && Catch::EndsWith("run: bld login"));
}

TEST_CASE("Docker Hub's login command takes no registry") {
  CHECK(LoginCommand("docker.io") == "bld login");
  CHECK(LoginCommand("127.0.0.1:5000") == "bld login 127.0.0.1:5000");
}
