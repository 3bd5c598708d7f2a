// SOURCE_DATE_EPOCH through the real binary: BuildKit's
// `--build-arg SOURCE_DATE_EPOCH=N` and the environment variable make
// `bld build` and `bld import` give the same image ID in any store, and the
// epoch reaches the build cache keys only when it is set.
#include <catch2/catch.hpp>
#include <unistd.h>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/busybox.h"
#include "support/process.h"

using bld::testing::ProcessResult;
using bld::testing::RunBld;
using bld::testing::TempDir;
using bld::testing::WriteFile;
using nlohmann::json;

namespace {

constexpr const char* kDockerfile =
    "FROM base\n"
    "COPY greeting /greeting\n"
    "RUN echo built > /built && mkdir -p /var/made\n"
    "ENV STAGE=done\n";

// A fresh store and a context; the busybox tarball is made once per test.
struct FreshStore {
  TempDir dir;
  std::string root = dir / "store";

  ProcessResult Bld(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const {
    args.insert(args.begin(), {"--root", root});
    return RunBld(args, "", env);
  }
  std::string Ok(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const {
    ProcessResult r = Bld(std::move(args), env);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  }
};

std::string Line(const std::string& out) { return out.substr(0, out.find('\n')); }

struct Inputs {
  TempDir dir;
  std::string tarball = dir / "rootfs.tar";
  std::string context = dir / "context";
  Inputs() {
    bld::testing::MakeBusyboxTar(tarball);
    WriteFile(context + "/Dockerfile", kDockerfile);
    WriteFile(context + "/greeting", "hello\n");
  }
};

const std::map<std::string, std::string> kEpochZero = {{"SOURCE_DATE_EPOCH", "0"}};

}  // namespace

TEST_CASE("bld import of the same tar twice with SOURCE_DATE_EPOCH set gives the same image ID") {
  Inputs in;
  FreshStore a, b;
  std::string first = Line(a.Ok({"import", in.tarball, "base"}, kEpochZero));
  std::string second = Line(a.Ok({"import", in.tarball, "again"}, kEpochZero));
  std::string other_store = Line(b.Ok({"import", in.tarball, "base"}, kEpochZero));
  CHECK(first == second);
  CHECK(first == other_store);
  json inspect = json::parse(a.Ok({"inspect", "base"}));
  CHECK(inspect[0]["Created"] == "1970-01-01T00:00:00Z");
}

TEST_CASE("two fresh stores building with --build-arg SOURCE_DATE_EPOCH=0 on an imported base give the same image ID") {
  Inputs in;
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    FreshStore s;
    s.Ok({"import", in.tarball, "base"}, kEpochZero);
    ids.push_back(Line(s.Ok({"build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=0", "-t", "app", in.context})));
    json inspect = json::parse(s.Ok({"inspect", "app"}));
    CHECK(inspect[0]["Created"] == "1970-01-01T00:00:00Z");
    std::string id = inspect[0]["Id"].get<std::string>();
    json config = json::parse(bld::testing::ReadFile(s.root + "/blobs/sha256/" + id.substr(7)));
    for (const json& entry : config["history"]) CHECK(entry["created"] == "1970-01-01T00:00:00Z");
  }
  CHECK(ids[0] == ids[1]);
}

TEST_CASE("the build arg SOURCE_DATE_EPOCH gives the image the environment variable's ID") {
  Inputs in;
  FreshStore a, b;
  a.Ok({"import", in.tarball, "base"}, kEpochZero);
  b.Ok({"import", in.tarball, "base"}, kEpochZero);
  std::string by_arg = Line(a.Ok({"build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=0", in.context}));
  std::string by_env = Line(b.Ok({"build", "-q", in.context}, kEpochZero));
  CHECK(by_arg == by_env);
}

TEST_CASE("SOURCE_DATE_EPOCH is in the cache key only when set") {
  Inputs in;
  FreshStore s;
  s.Ok({"import", in.tarball, "base"}, kEpochZero);
  ProcessResult plain = s.Bld({"build", "--progress", "plain", in.context});
  REQUIRE(plain.exit_code == 0);
  // A result made without the epoch is not the one asked for with it.
  ProcessResult with_epoch = s.Bld({"build", "--progress", "plain", "--build-arg", "SOURCE_DATE_EPOCH=0", in.context});
  REQUIRE(with_epoch.exit_code == 0);
  CHECK_THAT(with_epoch.err, Catch::Contains("#3 DONE") && !Catch::Contains("#3 CACHED"));
  // Without it the keys are what they always were: all cached.
  ProcessResult again = s.Bld({"build", "--progress", "plain", in.context});
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.err, Catch::Contains("#2 CACHED") && Catch::Contains("#3 CACHED"));
  CHECK(again.out == plain.out);
}

TEST_CASE("a SOURCE_DATE_EPOCH that is not a number of seconds is refused, naming where it came from") {
  Inputs in;
  FreshStore s;
  s.Ok({"import", in.tarball, "base"});
  ProcessResult r = s.Bld({"build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=yesterday", in.context});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("--build-arg SOURCE_DATE_EPOCH=yesterday is not a number of seconds"));
  r = s.Bld({"import", in.tarball, "other"}, {{"SOURCE_DATE_EPOCH", "-5"}});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("SOURCE_DATE_EPOCH=-5 in the environment is not a number of seconds"));
}

TEST_CASE("bld commit with SOURCE_DATE_EPOCH set gives the same image ID twice") {
  Inputs in;
  FreshStore s;
  s.Ok({"import", in.tarball, "base"}, kEpochZero);
  std::string name = "commit-epoch-" + std::to_string(::getpid());
  s.Ok({"run", "--name", name, "base", "sh", "-c", "echo x > /made && mkdir /dir"});
  std::string first = Line(s.Ok({"commit", name, "one"}, kEpochZero));
  std::string second = Line(s.Ok({"commit", name, "two"}, kEpochZero));
  s.Ok({"rm", name});
  CHECK(first == second);
  json inspect = json::parse(s.Ok({"inspect", "one"}));
  CHECK(inspect[0]["Created"] == "1970-01-01T00:00:00Z");
}
