// Each instruction's arguments, flags and Docker's error messages.
#include <catch2/catch.hpp>

#include "parser/dockerfile.h"
#include "parser/instructions.h"

using namespace bld::parser;

namespace {
Dockerfile Parse(const std::string& text) { return ParseDockerfile(text); }
// The instructions of the last stage.
std::vector<Instruction> Body(const std::string& text) { return Parse(text).stages.back().instructions; }
std::string ErrorOf(const std::string& text) {
  try {
    Parse(text);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "(no error)";
}
int ErrorLine(const std::string& text) {
  try {
    Parse(text);
  } catch (const ParseError& e) {
    return e.where().line;
  }
  return -1;
}
using Strings = std::vector<std::string>;
}  // namespace

TEST_CASE("every instruction keyword is recognised in any case") {
  auto body = Body(
      "from x\nrun a\ncmd b\nlabel k=v\nmaintainer m\nexpose 80\nenv A=1\nadd a b\ncopy a b\n"
      "entrypoint e\nvolume /v\nuser u\nworkdir /w\narg A\nonbuild run x\nstopsignal SIGTERM\n"
      "healthcheck NONE\nshell [\"sh\",\"-c\"]\n");
  Strings names;
  for (const Instruction& i : body) names.emplace_back(KeywordName(i.keyword));
  CHECK(names == Strings{"RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
                         "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"});
}

TEST_CASE("an unknown instruction suggests the closest one") {
  CHECK(ErrorOf("FROM x\nRUNN echo\n") == "unknown instruction: RUNN (did you mean RUN?)");
  CHECK(ErrorOf("FROM x\ncopyy a b\n") == "unknown instruction: copyy (did you mean COPY?)");
  CHECK(ErrorOf("FROM x\nFROBNICATE\n") == "unknown instruction: FROBNICATE");
  CHECK(ErrorLine("FROM x\n\nRUNN echo\n") == 3);
}

TEST_CASE("an unknown flag suggests the closest one") {
  CHECK(ErrorOf("FROM x\nCOPY --chwon=1 a b\n") == "unknown flag: --chwon (did you mean --chown?)");
  CHECK_THAT(ErrorOf("FROM x\nENV --x=1 A=1\n"), Catch::StartsWith("unknown flag: --x"));
}

TEST_CASE("an unknown flag is named with its dashes") {
  CHECK(ErrorOf("FROM x\nCOPY --user=1 a b\n") == "unknown flag: --user");
  CHECK_THAT(ErrorOf("FROM x\nRUN --user=1 true\n"), Catch::StartsWith("unknown flag: --user"));
}

TEST_CASE("flag values are checked by type") {
  CHECK(ErrorOf("FROM x\nCOPY --chown a b\n") == "missing a value on flag: --chown");
  CHECK(ErrorOf("FROM x\nCOPY --link=maybe a b\n") == "expecting boolean value for flag --link, not: maybe");
  CHECK(ErrorOf("FROM x\nCOPY --from=a --from=b a b\n") == "duplicate flag specified: --from");
  auto body = Body("FROM x\nCOPY --link --exclude=*.o --exclude=*.a a b\n");
  CHECK(body[0].Flag("link") == "true");
  CHECK(body[0].FlagValues("exclude") == Strings{"*.o", "*.a"});
}

TEST_CASE("FROM takes an image and optionally AS name") {
  CHECK_THAT(ErrorOf("FROM\n"), Catch::StartsWith("FROM requires either one or three arguments"));
  CHECK_THAT(ErrorOf("FROM a b\n"), Catch::StartsWith("FROM requires either one or three arguments"));
  CHECK_THAT(ErrorOf("FROM a AS 1abc\n"), Catch::Contains("invalid name for build stage: \"1abc\""));
  CHECK(Parse("FROM --platform=linux/arm64 a as B\n").stages[0].name == "b");
}

TEST_CASE("instructions that take exactly one argument say so") {
  CHECK(ErrorOf("FROM x\nWORKDIR\n") == "WORKDIR requires exactly one argument");
  CHECK(ErrorOf("FROM x\nUSER\n") == "USER requires exactly one argument");
  CHECK(ErrorOf("FROM x\nSTOPSIGNAL\n") == "STOPSIGNAL requires exactly one argument");
  CHECK(ErrorOf("FROM x\nMAINTAINER\n") == "MAINTAINER requires exactly one argument");
}

TEST_CASE("instructions that need arguments say so") {
  CHECK(ErrorOf("FROM x\nEXPOSE\n") == "EXPOSE requires at least one argument");
  CHECK(ErrorOf("FROM x\nVOLUME\n") == "VOLUME requires at least one argument");
  CHECK(ErrorOf("FROM x\nARG\n") == "ARG requires at least one argument");
  CHECK(ErrorOf("FROM x\nLABEL\n") == "LABEL requires at least one argument");
  CHECK(ErrorOf("FROM x\nENV\n") == "ENV requires at least one argument");
  CHECK(ErrorOf("FROM x\nRUN\n") == "RUN requires at least one argument");
  CHECK(ErrorOf("FROM x\nONBUILD\n") == "ONBUILD requires at least one argument");
}

TEST_CASE("COPY and ADD need a destination") {
  CHECK_THAT(ErrorOf("FROM x\nCOPY onlysource\n"),
             Catch::StartsWith("COPY requires at least two arguments, but only one was provided"));
  CHECK_THAT(ErrorOf("FROM x\nADD\n"), Catch::StartsWith("ADD requires at least two arguments"));
  // A heredoc is a source, so `COPY <<EOF /dst` has both.
  CHECK(Body("FROM x\nCOPY <<EOF /dst\nhi\nEOF\n")[0].heredocs.size() == 1);
}

TEST_CASE("a chmod beyond 07777 is refused") {
  CHECK_THAT(ErrorOf("FROM x\nCOPY --chmod=17777 a b\n"),
             Catch::StartsWith("invalid --chmod=17777: the mode must be an octal number from 0 to 07777"));
  CHECK(Body("FROM x\nCOPY --chmod=7777 a b\n")[0].Flag("chmod") == "7777");
}

TEST_CASE("a heredoc as the destination of COPY is refused") {
  CHECK_THAT(ErrorOf("FROM x\nCOPY <<EOF\nhi\nEOF\n"),
             Catch::StartsWith("COPY <<EOF: a heredoc is a source and cannot be the destination"));
  CHECK(ErrorLine("FROM x\nCOPY <<EOF\nhi\nEOF\n") == 2);
}

TEST_CASE("a URL as a COPY source is refused") {
  CHECK(ErrorOf("FROM x\nCOPY https://example.org/a.txt /a\n") ==
        "COPY https://example.org/a.txt: COPY cannot download a URL; use ADD https://example.org/a.txt instead");
  CHECK(Body("FROM x\nADD https://example.org/a.txt /a\n").size() == 1);
}

TEST_CASE("the flags of each instruction are listed for the builder") {
  std::vector<std::string> run;
  for (const FlagSpec& f : AcceptedFlags(Keyword::kRun)) run.emplace_back(f.name);
  CHECK(run == Strings{"mount", "network", "security", "device"});
  CHECK(AcceptedFlags(Keyword::kEnv).empty());
  CHECK(AllKeywordValues().size() == AllKeywords().size());
}

TEST_CASE("a chmod flag must be an octal mode") {
  CHECK_THAT(ErrorOf("FROM x\nCOPY --chmod=u+x a b\n"), Catch::StartsWith("invalid --chmod=u+x"));
  CHECK_THAT(ErrorOf("FROM x\nADD --chmod=0789 a b\n"), Catch::StartsWith("invalid --chmod=0789"));
  CHECK(Body("FROM x\nCOPY --chmod=0755 a b\n")[0].Flag("chmod") == "0755");
  CHECK(Body("FROM x\nARG M=644\nCOPY --chmod=$M a b\n")[1].Flag("chmod") == "$M");
}

TEST_CASE("COPY --from with a variable is refused") {
  CHECK_THAT(ErrorOf("FROM x\nARG X=y\nCOPY --from=$X a b\n"),
             Catch::StartsWith("COPY --from=$X: variables are not expanded in --from"));
}

TEST_CASE("ENV and LABEL names can not be blank") {
  CHECK(ErrorOf("FROM x\nENV =v\n") == "ENV names can not be blank");
  CHECK(ErrorOf("FROM x\nLABEL =v\n") == "LABEL names can not be blank");
  CHECK(ErrorOf("FROM x\nARG =v\n") == "ARG names can not be blank");
}

TEST_CASE("VOLUME refuses an empty path") {
  CHECK(ErrorOf("FROM x\nVOLUME [\"/a\", \"\"]\n") == "VOLUME specified can not be an empty string");
}

TEST_CASE("SHELL must be in JSON form") {
  CHECK_THAT(ErrorOf("FROM x\nSHELL /bin/bash -c\n"), Catch::StartsWith("SHELL requires the arguments to be in JSON form"));
  CHECK(ErrorOf("FROM x\nSHELL []\n") == "SHELL requires at least one argument");
  CHECK(Body("FROM x\nSHELL [\"/bin/bash\", \"-c\"]\n")[0].args == Strings{"/bin/bash", "-c"});
}

TEST_CASE("CMD and ENTRYPOINT may be empty") {
  auto body = Body("FROM x\nCMD []\nENTRYPOINT []\n");
  CHECK(body[0].args.empty());
  CHECK(body[1].json_form);
}

TEST_CASE("ONBUILD refuses ONBUILD, FROM and MAINTAINER triggers") {
  CHECK(ErrorOf("FROM x\nONBUILD ONBUILD RUN a\n") == "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  CHECK(ErrorOf("FROM x\nONBUILD FROM y\n") == "FROM isn't allowed as an ONBUILD trigger");
  CHECK(ErrorOf("FROM x\nONBUILD MAINTAINER y\n") == "MAINTAINER isn't allowed as an ONBUILD trigger");
  CHECK(ErrorOf("FROM x\nONBUILD RUNN y\n") == "unknown instruction: RUNN (did you mean RUN?)");
  auto body = Body("FROM x\nONBUILD COPY --chown=1 . /app\n");
  REQUIRE(body[0].onbuild);
  CHECK(body[0].onbuild->keyword == Keyword::kCopy);
  CHECK(body[0].onbuild->Flag("chown") == "1");
}

TEST_CASE("HEALTHCHECK is NONE or CMD with its options") {
  auto body = Body("FROM x\nHEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --start-interval=100ms "
                   "--retries=3 cmd curl x\nHEALTHCHECK none\n");
  CHECK(body[0].args == Strings{"CMD", "curl x"});
  CHECK(body[0].Flag("retries") == "3");
  CHECK(body[1].args == Strings{"NONE"});
  CHECK(ErrorOf("FROM x\nHEALTHCHECK NONE x\n") == "HEALTHCHECK NONE takes no arguments");
  CHECK(ErrorOf("FROM x\nHEALTHCHECK CMD\n") == "Missing command after HEALTHCHECK CMD");
  CHECK(ErrorOf("FROM x\nHEALTHCHECK RUN x\n") == "Unknown type \"RUN\" in HEALTHCHECK (try CMD)");
  CHECK_THAT(ErrorOf("FROM x\nHEALTHCHECK --interval=5 CMD x\n"), Catch::Contains("invalid duration \"5\""));
  CHECK(ErrorOf("FROM x\nHEALTHCHECK --interval=-5s CMD x\n") == "Interval \"interval\" cannot be negative");
  CHECK(ErrorOf("FROM x\nHEALTHCHECK --timeout=10us CMD x\n") == "Interval \"timeout\" cannot be less than 1ms");
  CHECK(ErrorOf("FROM x\nHEALTHCHECK --retries=-1 CMD x\n") == "--retries cannot be negative (-1)");
  CHECK_THAT(ErrorOf("FROM x\nHEALTHCHECK --retries=x CMD x\n"), Catch::Contains("is not a whole number"));
  CHECK_THAT(ErrorOf("FROM x\nHEALTHCHECK --bogus=1 CMD x\n"), Catch::StartsWith("unknown flag: --bogus"));
}

TEST_CASE("durations are read as Go reads them") {
  CHECK(ParseDuration("30s") == 30'000'000'000LL);
  CHECK(ParseDuration("1m30s") == 90'000'000'000LL);
  CHECK(ParseDuration("1.5h") == 5'400'000'000'000LL);
  CHECK(ParseDuration("500ms") == 500'000'000LL);
  CHECK(ParseDuration("0") == 0);
  CHECK(ParseDuration("-2s") == -2'000'000'000LL);
  CHECK_FALSE(ParseDuration("5"));
  CHECK_FALSE(ParseDuration("s"));
  CHECK_FALSE(ParseDuration("5x"));
  CHECK_FALSE(ParseDuration(""));
}

TEST_CASE("RUN --mount, --network and --security are checked") {
  auto body = Body("FROM x\nRUN --mount=type=cache,target=/root/.cache,id=c --network=none true\n");
  RunMount m = ParseRunMount(body[0].FlagValues("mount")[0]);
  CHECK(m.type == "cache");
  CHECK(m.target == "/root/.cache");
  CHECK(m.id == "c");
  CHECK_THAT(ErrorOf("FROM x\nRUN --mount=type=cahce,target=/x true\n"),
             Catch::Contains("unsupported mount type \"cahce\" (did you mean cache?)"));
  CHECK_THAT(ErrorOf("FROM x\nRUN --network=bridge true\n"), Catch::Contains("unsupported network mode"));
  CHECK_THAT(ErrorOf("FROM x\nRUN --security=root true\n"), Catch::Contains("unsupported security mode"));
  CHECK(ParseRunMount("type=bind,target=/x,\"source=a,b\"").source == "a,b");
}

TEST_CASE("a mount option value that does not exist names the flag and the line") {
  std::string text = "FROM x\nRUN --mount=type=cache,target=/c,sharing=sometimes true\n";
  CHECK(ErrorOf(text) ==
        "RUN --mount=type=cache,target=/c,sharing=sometimes: unsupported sharing value \"sometimes\" (use shared, "
        "private or locked)");
  CHECK(ErrorLine(text) == 2);
}

TEST_CASE("RUN --mount=from=<stage> needs no target") {
  auto body = Body("FROM x AS a\nFROM x\nRUN --mount=from=a ls\n");
  CHECK(ParseRunMount(body[0].FlagValues("mount")[0]).target.empty());
}

TEST_CASE("instructions keep their first and last line") {
  auto body = Body("FROM x\nRUN a \\\n  b \\\n  c\nENV A=1\n");
  CHECK(body[0].line == 2);
  CHECK(body[0].end_line == 4);
  CHECK(body[1].line == 5);
  CHECK(body[1].end_line == 5);
}
