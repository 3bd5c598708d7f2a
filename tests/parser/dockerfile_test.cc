// Stages, global ARGs, the stage graph and --target.
#include <catch2/catch.hpp>

#include "parser/dockerfile.h"

using namespace bld::parser;

namespace {
std::string ErrorOf(const std::string& text, const ParseOptions& o = {}) {
  try {
    ParseDockerfile(text, o);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "(no error)";
}
ParseOptions Target(const std::string& t) {
  ParseOptions o;
  o.target = t;
  return o;
}
}  // namespace

TEST_CASE("an empty Dockerfile is an error") {
  CHECK_THAT(ErrorOf(""), Catch::StartsWith("the Dockerfile has no instructions"));
  CHECK_THAT(ErrorOf("# only a comment\n\n"), Catch::StartsWith("the Dockerfile has no instructions"));
}

TEST_CASE("a Dockerfile with only ARGs has no stage to build") {
  CHECK_THAT(ErrorOf("ARG A=1\n"), Catch::StartsWith("the Dockerfile has no stage to build"));
}

TEST_CASE("only ARG may come before the first FROM") {
  CHECK_THAT(ErrorOf("RUN true\nFROM x\n"), Catch::StartsWith("no build stage in current context"));
}

TEST_CASE("stages are numbered, named case-insensitively and keep their instructions") {
  Dockerfile df = ParseDockerfile("FROM a AS Build\nRUN x\nFROM b\nCOPY --from=BUILD /x /y\n");
  REQUIRE(df.stages.size() == 2);
  CHECK(df.stages[0].name == "build");
  CHECK(df.stages[0].base == "a");
  CHECK(df.stages[0].instructions.size() == 1);
  CHECK(df.stages[1].name.empty());
  CHECK(df.stages[1].depends_on == std::vector<int>{0});
  CHECK(df.target == 1);
}

TEST_CASE("duplicate stage names are an error") {
  CHECK_THAT(ErrorOf("FROM a AS x\nFROM b AS X\n"), Catch::StartsWith("duplicate stage name \"x\""));
}

TEST_CASE("global ARGs are usable in FROM, with defaults that use earlier ARGs") {
  Dockerfile df = ParseDockerfile("ARG REG=example.com\nARG IMG=${REG}/app\nARG TAG\nFROM ${IMG}:${TAG:-1.0}\n");
  CHECK(df.stages[0].base == "example.com/app:1.0");
  REQUIRE(df.meta_args.size() == 3);
  CHECK(df.meta_args[1].value == "example.com/app");
  CHECK_FALSE(df.meta_args[2].value.has_value());
}

TEST_CASE("a build arg given on the command line overrides a global ARG") {
  ParseOptions o;
  o.build_args = {{"TAG", "2.0"}, {"UNDECLARED", "z"}};
  Dockerfile df = ParseDockerfile("ARG TAG=1.0\nFROM app:$TAG$UNDECLARED\n", o);
  CHECK(df.stages[0].base == "app:2.0");
  CHECK(df.global_args.count("UNDECLARED") == 0);
}

TEST_CASE("an undefined variable in FROM gives a warning") {
  Dockerfile df = ParseDockerfile("FROM app$NOPE\n");
  CHECK(df.stages[0].base == "app");
  REQUIRE(df.warnings.size() == 1);
  CHECK_THAT(df.warnings[0].message, Catch::Contains("NOPE"));
}

TEST_CASE("a FROM that expands to nothing is an error") {
  CHECK(ErrorOf("ARG X\nFROM $X\n") == "base name ($X) should not be blank");
}

TEST_CASE("the automatic platform args are usable in FROM") {
  ParseOptions o;
  o.platform = "linux/arm64/v8";
  Dockerfile df = ParseDockerfile("FROM --platform=$BUILDPLATFORM img-$TARGETARCH$TARGETVARIANT:$TARGETOS\n", o);
  CHECK(df.stages[0].base == "img-arm64:linux");
  CHECK(df.stages[0].platform == BuildPlatform());
  CHECK(df.global_args.at("TARGETPLATFORM") == "linux/arm64");
  CHECK(df.global_args.at("BUILDPLATFORM") == BuildPlatform());
  CHECK(df.global_args.count("BUILDOS"));
  CHECK(df.global_args.count("BUILDARCH"));
  CHECK(df.global_args.count("BUILDVARIANT"));
}

TEST_CASE("the target platform defaults to the build platform and is normalized") {
  CHECK(AutomaticArgs("", "").at("TARGETPLATFORM") == BuildPlatform());
  CHECK(AutomaticArgs("linux/arm", "").at("TARGETVARIANT") == "v7");
  CHECK(AutomaticArgs("aarch64", "").at("TARGETPLATFORM") == "linux/arm64");
  CHECK_THAT(ErrorOf("FROM x\n", [] { ParseOptions o; o.platform = "linux//x"; return o; }()),
             Catch::StartsWith("invalid platform \"linux//x\""));
}

TEST_CASE("TARGETSTAGE names the stage being built") {
  CHECK(ParseDockerfile("FROM a AS one\nFROM b AS two\n", Target("one")).global_args.at("TARGETSTAGE") == "one");
  CHECK(ParseDockerfile("FROM a AS one\nFROM b AS two\n").global_args.at("TARGETSTAGE") == "two");
}

TEST_CASE("the proxy args are predefined") {
  CHECK(IsPredefinedProxyArg("HTTP_PROXY"));
  CHECK(IsPredefinedProxyArg("no_proxy"));
  CHECK_FALSE(IsPredefinedProxyArg("PROXY"));
}

TEST_CASE("FROM <stage> is an edge to that stage") {
  Dockerfile df = ParseDockerfile("FROM busybox AS base\nFROM base AS app\n");
  CHECK(df.stages[1].base_stage == 0);
  CHECK(df.stages[1].depends_on == std::vector<int>{0});
}

TEST_CASE("a stage named like its own base image uses the image") {
  Dockerfile df = ParseDockerfile("FROM alpine AS alpine\n");
  CHECK(df.stages[0].base_stage == -1);
  CHECK(df.stages[0].base == "alpine");
}

TEST_CASE("COPY --from by index and RUN --mount from= are edges; other names are images") {
  Dockerfile df = ParseDockerfile(
      "FROM a\nFROM b AS tools\nFROM c\nCOPY --from=0 /x /x\nRUN --mount=type=bind,from=tools,target=/t true\n"
      "COPY --from=nginx:latest /etc/nginx /n\n");
  CHECK(df.stages[2].depends_on == std::vector<int>{0, 1});
}

TEST_CASE("a reference to a later stage is an error") {
  CHECK_THAT(ErrorOf("FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\n"),
             Catch::StartsWith("stage \"two\" is used before it is defined"));
  CHECK_THAT(ErrorOf("FROM a\nCOPY --from=1 /x /x\nFROM b\n"), Catch::Contains("names stage index 1"));
  CHECK_THAT(ErrorOf("FROM two AS one\nFROM b AS two\n"), Catch::StartsWith("stage \"two\" is used before"));
}

TEST_CASE("a stage using itself is a cycle") {
  CHECK(ErrorOf("FROM a AS one\nCOPY --from=one /x /x\n") == "circular dependency detected on stage: one");
  CHECK(ErrorOf("FROM a\nCOPY --from=0 /x /x\n") == "circular dependency detected on stage: 0");
}

TEST_CASE("the target option picks a stage and only the stages it needs are needed") {
  std::string text =
      "FROM a AS base\nFROM base AS build\nFROM c AS test\nCOPY --from=build /x /x\nFROM d AS other\n";
  Dockerfile df = ParseDockerfile(text, Target("build"));
  CHECK(df.target == 1);
  CHECK(df.stages[0].needed);
  CHECK(df.stages[1].needed);
  CHECK_FALSE(df.stages[2].needed);
  CHECK_FALSE(df.stages[3].needed);
  Dockerfile all = ParseDockerfile(text);
  CHECK(all.target == 3);
  CHECK_FALSE(all.stages[0].needed);
  CHECK(all.stages[3].needed);
  CHECK(ParseDockerfile(text, Target("TEST")).target == 2);
}

TEST_CASE("an unknown --target suggests the closest stage") {
  CHECK(ErrorOf("FROM a AS build\n", Target("bulid")) == "target stage \"bulid\" could not be found (did you mean build?)");
  CHECK(ErrorOf("FROM a AS build\n", Target("zzzzzz")) == "target stage \"zzzzzz\" could not be found");
}

TEST_CASE("MAINTAINER is accepted with a deprecation warning") {
  Dockerfile df = ParseDockerfile("FROM a\nMAINTAINER me\n");
  REQUIRE(df.warnings.size() == 1);
  CHECK(df.warnings[0].line == 2);
}
