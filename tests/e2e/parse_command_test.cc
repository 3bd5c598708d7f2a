// `bld parse`: the JSON a tool or test reads, and the errors a user reads.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/process.h"

using bld::testing::RunBld;
using bld::testing::TempDir;
using bld::testing::WriteFile;
using nlohmann::json;

TEST_CASE("bld parse prints the documented JSON for the hello-world Dockerfile") {
  auto r = RunBld({"parse", "-f", std::string(BLD_SOURCE_DIR) + "/testdata/helloworld/Dockerfile"});
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  CHECK(j["directives"]["escape"] == "\\");
  REQUIRE(j["stages"].size() == 1);
  const json& s = j["stages"][0];
  CHECK(s["index"] == 0);
  CHECK(s["name"].is_null());
  CHECK(s["base"] == "busybox");
  CHECK(s["needed"] == true);
  CHECK(s["instructions"][0]["keyword"] == "FROM");
  bool saw_cmd = false;
  for (const json& ins : s["instructions"]) {
    if (ins["keyword"] == "CMD") {
      saw_cmd = true;
      CHECK(ins["json_form"] == true);
      CHECK(ins["args"][0] == "httpd");
    }
  }
  CHECK(saw_cmd);
}

TEST_CASE("bld parse reads stdin and reports meta args, flags, heredocs and ONBUILD") {
  std::string text =
      "# escape=\\\nARG BASE=busybox\nARG NOVAL\nFROM $BASE AS build\n"
      "RUN --mount=type=cache,target=/x <<EOF\necho hi\nEOF\nENV A=\"1 2\" B=3\nONBUILD RUN make\n"
      "FROM build\nCOPY --from=build /a /b\n";
  auto r = RunBld({"parse", "-f", "-", "--build-arg", "X=1"}, text);
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  CHECK(j["meta_args"] == json::parse(R"([{"name":"BASE","value":"busybox"},{"name":"NOVAL","value":null}])"));
  const json& build = j["stages"][0];
  CHECK(build["name"] == "build");
  CHECK(build["base"] == "busybox");
  const json& run = build["instructions"][1];
  CHECK(run["keyword"] == "RUN");
  CHECK(run["line"] == 5);
  CHECK(run["end_line"] == 7);
  CHECK(run["flags"] == json::parse(R"(["--mount=type=cache,target=/x"])"));
  CHECK(run["args"] == json::parse(R"(["<<EOF"])"));
  CHECK(run["heredocs"] == json::parse(R"([{"name":"EOF","content":"echo hi\n","expand":true,"chomp":false,"fd":0}])"));
  CHECK(build["instructions"][2]["args"] == json::parse(R"(["A","\"1 2\"","B","3"])"));
  const json& onbuild = build["instructions"][3];
  CHECK(onbuild["args"][0]["keyword"] == "RUN");
  CHECK(onbuild["args"][0]["args"] == json::parse(R"(["make"])"));
  CHECK(j["stages"][1]["depends_on"] == json::parse("[0]"));
}

TEST_CASE("bld parse --target marks only the needed stages") {
  auto r = RunBld({"parse", "-f", "-", "--target", "a"}, "FROM x AS a\nFROM y AS b\n");
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  CHECK(j["stages"][0]["needed"] == true);
  CHECK(j["stages"][1]["needed"] == false);
}

TEST_CASE("bld parse --platform sets the target platform args") {
  auto r = RunBld({"parse", "-f", "-", "--platform", "linux/arm64"}, "FROM img:$TARGETARCH\n");
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["stages"][0]["base"] == "img:arm64");
}

TEST_CASE("a Dockerfile error shows file, line, context and message on stderr, and exits 1") {
  TempDir dir;
  WriteFile(dir / "Dockerfile", "FROM busybox\nWORKDIR /app\nRUNN echo hi\nCMD x\n");
  auto r = RunBld({"parse", "-f", dir / "Dockerfile"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains(dir / "Dockerfile:3"));
  CHECK_THAT(r.err, Catch::Contains("   2 |     WORKDIR /app"));
  CHECK_THAT(r.err, Catch::Contains("   3 | >>> RUNN echo hi"));
  CHECK_THAT(r.err, Catch::Contains("unknown instruction: RUNN (did you mean RUN?)"));
}

TEST_CASE("an unknown --target is an error with a suggestion") {
  auto r = RunBld({"parse", "-f", "-", "--target", "bulid"}, "FROM x AS build\n");
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains("target stage \"bulid\" could not be found (did you mean build?)"));
}

TEST_CASE("a missing Dockerfile is a clear error") {
  auto r = RunBld({"parse", "-f", "/nonexistent/Dockerfile"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("cannot read Dockerfile /nonexistent/Dockerfile"));
}

TEST_CASE("bld version and bld --help work") {
  auto v = RunBld({"version"});
  CHECK(v.exit_code == 0);
  CHECK_THAT(v.out, Catch::StartsWith("bld version "));
  auto h = RunBld({"--help"});
  CHECK(h.exit_code == 0);
  CHECK_THAT(h.out, Catch::Contains("parse"));
}
