// WWW-Authenticate challenges as registries and token servers write them.
#include <catch2/catch.hpp>

#include "registry/auth.h"

using bld::registry::Challenge;
using bld::registry::ParseChallenges;
using bld::registry::RepositoryScope;

TEST_CASE("a Bearer challenge gives its realm, service and scope") {
  auto c = ParseChallenges(
      {R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")"});
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].params.at("realm") == "https://auth.docker.io/token");
  CHECK(c[0].params.at("service") == "registry.docker.io");
  CHECK(c[0].params.at("scope") == "repository:library/alpine:pull");
}

TEST_CASE("several challenges in one header are told apart, names are case-insensitive") {
  auto c = ParseChallenges({R"(Basic realm="Registry Realm", BEARER Realm="http://127.0.0.1:1/token", Service=x)"});
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].params.at("realm") == "Registry Realm");
  CHECK(c[1].scheme == "bearer");
  CHECK(c[1].params.at("realm") == "http://127.0.0.1:1/token");
  CHECK(c[1].params.at("service") == "x");
}

TEST_CASE("quoted parameters keep commas and unescape backslashes") {
  auto c = ParseChallenges({R"(Bearer realm="https://a/t",scope="repository:a:pull,push repository:b:pull",error="insuf\"ficient")"});
  REQUIRE(c.size() == 1);
  CHECK(c[0].params.at("scope") == "repository:a:pull,push repository:b:pull");
  CHECK(c[0].params.at("error") == "insuf\"ficient");
}

TEST_CASE("challenges from several headers are all kept, garbage is skipped") {
  auto c = ParseChallenges({"Basic realm=\"r\"", "Bearer realm=\"unterminated", "", ",,,"});
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "basic");
  CHECK(c[1].scheme == "bearer");
  CHECK(c[1].params.empty());
}

TEST_CASE("a repository scope names the repository and its actions") {
  CHECK(RepositoryScope("library/alpine", "pull,push") == "repository:library/alpine:pull,push");
}
