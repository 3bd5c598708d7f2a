// `bld build` through the real binary: progress output, exit codes, stdin
// inputs and the cache across processes.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "registry/image_lookup.h"
#include "support/process.h"
#include "support/test_images.h"

using bld::testing::RunBld;
using bld::testing::TempDir;
using bld::testing::WriteFile;

namespace {

struct Env {
  TempDir root;
  TempDir context;
  Env() {
    auto store = bld::store::Store::Open(root.path());
    bld::testing::MakeBusyboxImage(*store);
  }
  bld::testing::ProcessResult Build(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> all = {"--root", root.path(), "build"};
    all.insert(all.end(), args.begin(), args.end());
    return RunBld(all, input);
  }
  bool HasImage(const std::string& name) {
    auto store = bld::store::Store::Open(root.path());
    return bld::registry::FindLocalImage(*store, name).has_value();
  }
};

}  // namespace

TEST_CASE("plain progress numbers steps as BuildKit does and the image ID goes to stdout") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN echo hello-from-run\nENV A=1\n");
  auto r = env.Build({"--progress", "plain", "-t", "demo", env.context.path()});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("#1 [1/3] FROM docker.io/library/busybox:latest@sha256:"));
  CHECK_THAT(r.err, Catch::Contains("#2 [2/3] RUN echo hello-from-run"));
  CHECK_THAT(r.err, Catch::Matches("(.|\\n)*#2 [0-9.]+ hello-from-run(.|\\n)*"));
  CHECK_THAT(r.err, Catch::Contains("#2 DONE"));
  CHECK_THAT(r.out, Catch::Matches("sha256:[0-9a-f]{64}\\n"));
  CHECK(env.HasImage("demo"));
}

TEST_CASE("a second bld process hits the cache for every step") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN echo one\nCOPY Dockerfile /\n");
  auto first = env.Build({"--progress", "plain", env.context.path()});
  REQUIRE(first.exit_code == 0);
  auto second = env.Build({"--progress", "plain", env.context.path()});
  REQUIRE(second.exit_code == 0);
  CHECK(second.out == first.out);
  CHECK_THAT(second.err, Catch::Contains("#2 CACHED"));
  CHECK_THAT(second.err, Catch::Contains("#3 CACHED"));
  CHECK_THAT(second.err, !Catch::Contains("#2 DONE"));
}

TEST_CASE("quiet mode prints only the image ID and the iidfile holds it") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN echo quiet\n");
  std::string iid = env.root / "iid";
  auto r = env.Build({"-q", "--iidfile", iid, env.context.path()});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::Matches("sha256:[0-9a-f]{64}\\n"));
  CHECK(bld::testing::ReadFile(iid) + "\n" == r.out);
}

TEST_CASE("json progress prints one JSON event per line") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN echo j\n");
  auto r = env.Build({"--progress", "json", env.context.path()});
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.err);
  int events = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line);
    CHECK(j.contains("event"));
    ++events;
  }
  CHECK(events >= 4);
}

TEST_CASE("json progress marks when a RUN's process exited, before its layer made it done") {
  Env env;
  // The process exits at once; the step is done only after its 8 MiB layer is recorded.
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=8 2>/dev/null\n");
  auto r = env.Build({"--progress", "json", env.context.path()});
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.err);
  std::optional<double> exited, done;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line);
    if (j["name"].get<std::string>().find("RUN dd") == std::string::npos) continue;
    if (j["event"] == "exited") exited = j["elapsed"].get<double>();
    if (j["event"] == "done") done = j["elapsed"].get<double>();
  }
  REQUIRE(exited);
  REQUIRE(done);
  CHECK(*exited > 0);
  CHECK(*exited <= *done);
}

TEST_CASE("the Dockerfile can come from stdin with -f -") {
  Env env;
  auto r = env.Build({"-f", "-", "-t", "stdin-df", env.context.path()}, "FROM busybox\nENV FROM_STDIN=1\n");
  REQUIRE(r.exit_code == 0);
  CHECK(env.HasImage("stdin-df"));
}

TEST_CASE("the context can be a tar on stdin") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nCOPY f.txt /f.txt\n");
  WriteFile(env.context / "f.txt", "x\n");
  auto tar = bld::testing::RunProcess({"tar", "-C", env.context.path(), "-cf", "-", "."});
  REQUIRE(tar.exit_code == 0);
  auto r = env.Build({"-t", "tarctx", "-"}, tar.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(env.HasImage("tarctx"));
}

TEST_CASE("a failing RUN exits 1 with the command, exit code, output and Dockerfile line") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN echo the-last-words && exit 3\nENV X=1\n");
  auto r = env.Build({"--progress", "plain", "-t", "failed", env.context.path()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(" > the-last-words"));
  CHECK_THAT(r.err, Catch::Contains("   2 | >>> RUN echo the-last-words && exit 3"));
  CHECK_THAT(r.err, Catch::Contains("did not complete successfully: exit code 3"));
  CHECK(r.out.empty());
  CHECK_FALSE(env.HasImage("failed"));
}

TEST_CASE("a Dockerfile syntax error exits 1 before anything runs") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nCOPY --chwon=1 a b\n");
  auto r = env.Build({env.context.path()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("Dockerfile:2"));
  CHECK_THAT(r.err, Catch::Contains("unknown flag: --chwon (did you mean --chown?)"));
}

TEST_CASE("an invalid tag is refused before building") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\n");
  auto r = env.Build({"-t", "Bad:Name:x", env.context.path()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("invalid reference format"));
}

TEST_CASE("Ctrl-C during a RUN stops the build with exit code 130 and leaves no container") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN echo run-started && sleep 3000\n");
  std::string log = env.context / "progress.log";
  WriteFile(log, "");  // read below before the child may have opened it
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDERR_FILENO);
    execl(BLD_BINARY, BLD_BINARY, "--root", env.root.path().c_str(), "build", "--progress", "plain",
          env.context.path().c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Interrupt once the RUN has printed, as a user would.
  bool started = false;
  for (int i = 0; i < 1000 && !started; ++i) {
    started = bld::testing::ReadFile(log).find("run-started") != std::string::npos;
    if (!started) usleep(20 * 1000);
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(started);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_THAT(bld::testing::ReadFile(log), Catch::Contains("build interrupted"));
  CHECK(std::filesystem::is_empty(env.root / "containers"));
}
