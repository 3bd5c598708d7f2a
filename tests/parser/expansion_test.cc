// Which instructions expand variables, and what a stage's instructions see.
#include <catch2/catch.hpp>

#include "parser/dockerfile.h"
#include "parser/expansion.h"

using namespace bld::parser;

namespace {
using Strings = std::vector<std::string>;
Instruction Only(const std::string& line) { return ParseDockerfile("FROM x\n" + line + "\n").stages[0].instructions[0]; }
const VarMap kVars = {{"A", "one"}, {"P", "80 443/udp"}, {"U", "app"}};
}  // namespace

TEST_CASE("the instructions Docker expands are expanded") {
  CHECK(ExpandArgs(Only("ENV K_$A=$A"), kVars) == Strings{"K_one", "one"});
  CHECK(ExpandArgs(Only("LABEL \"k\"=\"$A two\""), kVars) == Strings{"k", "one two"});
  CHECK(ExpandArgs(Only("COPY $A/* /dst/$A/"), kVars) == Strings{"one/*", "/dst/one/"});
  CHECK(ExpandArgs(Only("ADD [\"$A\", \"/d\"]"), kVars) == Strings{"one", "/d"});
  CHECK(ExpandArgs(Only("WORKDIR /srv/$A"), kVars) == Strings{"/srv/one"});
  CHECK(ExpandArgs(Only("USER ${U}:${U}"), kVars) == Strings{"app:app"});
  CHECK(ExpandArgs(Only("VOLUME /data/$A"), kVars) == Strings{"/data/one"});
  CHECK(ExpandArgs(Only("STOPSIGNAL SIG${A:+TERM}"), kVars) == Strings{"SIGTERM"});
  CHECK(ExpandArgs(Only("ARG X=$A Y"), kVars) == Strings{"X=one", "Y"});
}

TEST_CASE("EXPOSE splits an expansion into several ports") {
  CHECK(ExpandArgs(Only("EXPOSE $P 8080"), kVars) == Strings{"80", "443/udp", "8080"});
}

TEST_CASE("RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and MAINTAINER are never expanded") {
  CHECK(ExpandArgs(Only("RUN echo $A"), kVars) == Strings{"echo $A"});
  CHECK(ExpandArgs(Only("CMD [\"$A\"]"), kVars) == Strings{"$A"});
  CHECK(ExpandArgs(Only("ENTRYPOINT echo $A"), kVars) == Strings{"echo $A"});
  CHECK(ExpandArgs(Only("SHELL [\"$A\"]"), kVars) == Strings{"$A"});
  CHECK(ExpandArgs(Only("HEALTHCHECK CMD $A"), kVars) == Strings{"CMD", "$A"});
  CHECK(ExpandArgs(Only("MAINTAINER $A"), kVars) == Strings{"$A"});
}

TEST_CASE("the flags that allow expansion are expanded, others are not") {
  CHECK(ExpandFlag(Only("COPY --chown=$U:$U --chmod=$M a b"), "chown", kVars) == "app:app");
  CHECK(ExpandFlag(Only("ADD --checksum=sha256:$A a b"), "checksum", kVars) == "sha256:one");
  CHECK(ExpandFlag(Only("COPY --exclude=$A a b"), "exclude", kVars) == "$A");
}

TEST_CASE("the backtick escape is used when expanding") {
  CHECK(ExpandArgs(Only("WORKDIR /a`$A"), kVars, '`') == Strings{"/a$A"});
}

TEST_CASE("a global ARG is visible in a stage only after the stage declares it") {
  ParseOptions o;
  o.build_args = {{"B", "from-cli"}};
  Dockerfile df = ParseDockerfile("ARG V=global\nARG B\nFROM x\nWORKDIR /$V\nARG V\nARG B\nWORKDIR /$V/$B\n", o);
  StageScope scope(df.global_args, o.build_args, {});
  const auto& body = df.stages[0].instructions;
  CHECK(ExpandArgs(body[0], scope.Vars()) == Strings{"/"});
  scope.Apply(body[1]);
  scope.Apply(body[2]);
  CHECK(ExpandArgs(body[3], scope.Vars()) == Strings{"/global/from-cli"});
}

TEST_CASE("a stage ARG default may use earlier variables, and --build-arg overrides it") {
  StageScope scope({}, {{"OVR", "cli"}}, {{"HOME", "/root"}});
  scope.Apply(Only("ARG D=${HOME}/x OVR=default"));
  CHECK(scope.args().at("D") == "/root/x");
  CHECK(scope.args().at("OVR") == "cli");
}

TEST_CASE("ENV wins over an ARG of the same name, and only ENV goes to the config") {
  StageScope scope({}, {}, {});
  scope.Apply(Only("ARG X=arg"));
  scope.Apply(Only("ENV X=env Y=$X"));
  CHECK(scope.Vars().at("X") == "env");
  CHECK(scope.env().at("Y") == "arg");
  CHECK(scope.env().count("X"));
  CHECK(scope.args().at("X") == "arg");
}

TEST_CASE("an ARG without a value or default is declared but unset") {
  StageScope scope({}, {}, {});
  scope.Apply(Only("ARG NOVALUE"));
  CHECK(scope.Vars().count("NOVALUE") == 0);
}
