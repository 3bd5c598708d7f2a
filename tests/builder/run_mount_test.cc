// RUN --mount in the builder, against fakes (builder_fakes.h): what each
// mount asks of the runtime, what enters the step's key, and the errors.
#include <catch2/catch.hpp>

#include <algorithm>

#include "builder_fakes.h"

using namespace bld;
using bld::testing::FakeBuild;
using bld::testing::FakeImage;
using runner::StepMount;

namespace {

void AddBusybox(FakeBuild& b) {
  store::ContainerConfig config;
  config.env = {"PATH=/bin"};
  b.images.images["busybox"] = FakeImage("busybox", config);
}

const runner::StepSpec& OnlyRun(const FakeBuild& b) {
  REQUIRE(b.runtime.runs.size() == 1);
  return b.runtime.runs[0];
}

bool HasEnv(const runner::StepSpec& spec, const std::string& kv) {
  return std::count(spec.run.env.begin(), spec.run.env.end(), kv) > 0;
}

std::string ErrorOf(FakeBuild& b, const std::string& dockerfile) {
  try {
    b.Run(dockerfile);
  } catch (const builder::BuildError& e) {
    return "line " + std::to_string(e.where().line) + ": " + e.what();
  } catch (const parser::ParseError& e) {
    return "line " + std::to_string(e.where().line) + ": " + e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a cache mount asks for its id, sharing and owner, its target joined to WORKDIR") {
  FakeBuild b;
  AddBusybox(b);
  b.Run("FROM busybox\nWORKDIR /app\nRUN --mount=type=cache,target=node_modules,sharing=locked,uid=1000,mode=0700 ls\n");
  const runner::StepSpec& spec = OnlyRun(b);
  REQUIRE(spec.mounts.size() == 1);
  const StepMount& m = spec.mounts[0];
  CHECK(m.type == StepMount::Type::kCache);
  CHECK(m.target == "/app/node_modules");
  CHECK(m.cache_id == "node_modules");
  CHECK(m.sharing == runner::CacheSharing::kLocked);
  CHECK(m.uid == 1000u);
  CHECK(m.mode == 0700u);
  CHECK_FALSE(m.read_only);
  CHECK_FALSE(m.tree);
}

TEST_CASE("a cache mount's values may use build variables") {
  FakeBuild b;
  AddBusybox(b);
  b.options.build_args = {{"CACHE", "/root/.cache"}, {"MODE", "private"}};
  b.Run("FROM busybox\nARG CACHE MODE\nRUN --mount=type=cache,target=$CACHE,sharing=$MODE true\n");
  const StepMount& m = OnlyRun(b).mounts.at(0);
  CHECK(m.target == "/root/.cache");
  CHECK(m.sharing == runner::CacheSharing::kPrivate);
}

TEST_CASE("a cache mount with from starts from that stage's source") {
  FakeBuild b;
  AddBusybox(b);
  b.Run("FROM busybox AS seed\nRUN make\nFROM busybox\nRUN --mount=type=cache,target=/c,from=seed,source=/out ls\n");
  const StepMount& m = b.runtime.runs.back().mounts.at(0);
  REQUIRE(m.tree);
  CHECK_FALSE(m.tree->from_context);
  CHECK(m.tree->path == "out");
  CHECK(m.tree->layers.size() == 2);
}

TEST_CASE("a tmpfs mount asks for its size") {
  FakeBuild b;
  AddBusybox(b);
  b.Run("FROM busybox\nRUN --mount=type=tmpfs,target=/t,size=64m true\n");
  const StepMount& m = OnlyRun(b).mounts.at(0);
  CHECK(m.type == StepMount::Type::kTmpfs);
  CHECK(m.size == 64u * 1024 * 1024);
}

TEST_CASE("a bind mount of the context is keyed by the bound files only") {
  FakeBuild b;
  AddBusybox(b);
  b.Context("src/a.c", "one");
  b.Context("other.txt", "x");
  const std::string dockerfile = "FROM busybox\nRUN --mount=source=src,target=/src make\n";
  builder::StageResult first = b.Run(dockerfile);
  const StepMount& m = OnlyRun(b).mounts.at(0);
  CHECK(m.type == StepMount::Type::kBind);
  CHECK(m.read_only);
  REQUIRE(m.tree);
  CHECK(m.tree->from_context);
  CHECK(m.tree->path == "src");
  b.Context("other.txt", "changed");
  CHECK(b.Run(dockerfile).key == first.key);
  b.Context("src/a.c", "two");
  CHECK(b.Run(dockerfile).key != first.key);
}

TEST_CASE("a bind mount of the context hides what .dockerignore leaves out") {
  FakeBuild b;
  AddBusybox(b);
  b.Context(".dockerignore", "*.log\nbuild/\n");
  b.Context("a.c", "a");
  b.Context("debug.log", "log");
  b.Context("build/out.o", "o");
  b.Run("FROM busybox\nRUN --mount=target=/src make\n");
  const StepMount& m = OnlyRun(b).mounts.at(0);
  std::vector<std::string> hidden = m.tree->hidden;
  std::sort(hidden.begin(), hidden.end());
  CHECK(hidden == std::vector<std::string>{"build", "debug.log"});
}

TEST_CASE("a bind mount from a stage is keyed by that stage, and without a target lands on WORKDIR") {
  FakeBuild b;
  AddBusybox(b);
  const std::string dockerfile = "FROM busybox AS src\nARG V\nRUN gen $V\nFROM busybox\nWORKDIR /w\nRUN --mount=from=src ls\n";
  b.options.build_args = {{"V", "1"}};
  builder::StageResult first = b.Run(dockerfile);
  const StepMount& m = b.runtime.runs.back().mounts.at(0);
  CHECK(m.target == "/w");
  CHECK(m.tree->layers.size() == 2);
  b.options.build_args = {{"V", "2"}};
  CHECK(b.Run(dockerfile).key != first.key);
}

TEST_CASE("a mount whose target is the root is refused") {
  FakeBuild b;
  AddBusybox(b);
  CHECK_THAT(ErrorOf(b, "FROM busybox\nRUN --mount=type=tmpfs,target=/tmp/.. true\n"),
             Catch::StartsWith("line 2: RUN --mount: invalid mount target \"/tmp/..\""));
}

TEST_CASE("secrets reach the step when it runs and never its key") {
  FakeBuild b;
  AddBusybox(b);
  b.options.secrets = {{"token", "first value"}, {"api", "key"}};
  const std::string dockerfile =
      "FROM busybox\nRUN --mount=type=secret,id=token --mount=type=secret,id=api,env=API_KEY,target=/k make\n";
  builder::StageResult first = b.Run(dockerfile);
  const runner::StepSpec& spec = OnlyRun(b);
  REQUIRE(spec.mounts.size() == 2);
  CHECK(spec.mounts[0].type == StepMount::Type::kSecret);
  CHECK(spec.mounts[0].target == "/run/secrets/token");
  CHECK(spec.mounts[0].secret == "first value");
  CHECK(spec.mounts[1].target == "/k");
  CHECK(HasEnv(spec, "API_KEY=key"));
  b.runtime.runs.clear();
  b.options.secrets["token"] = "second value";
  CHECK(b.Run(dockerfile).key == first.key);
  CHECK(b.runtime.runs.empty());
}

TEST_CASE("a secret given only as env is not mounted") {
  FakeBuild b;
  AddBusybox(b);
  b.options.secrets = {{"api", "key"}};
  b.Run("FROM busybox\nRUN --mount=type=secret,id=api,env=API_KEY make\n");
  const runner::StepSpec& spec = OnlyRun(b);
  CHECK(spec.mounts.empty());
  CHECK(HasEnv(spec, "API_KEY=key"));
}

TEST_CASE("a missing secret is an error at its line when required and left out when not") {
  FakeBuild b;
  AddBusybox(b);
  CHECK_THAT(ErrorOf(b, "FROM busybox\n\nRUN --mount=type=secret,id=npmrc,required=true make\n"),
             Catch::StartsWith("line 3: RUN --mount=type=secret: the required secret \"npmrc\" was not given"));
  b.runtime.runs.clear();
  b.Run("FROM busybox\nRUN --mount=type=secret,id=npmrc make\n");
  CHECK(OnlyRun(b).mounts.empty());
}

TEST_CASE("a secret that is not used by a cached step is not needed") {
  FakeBuild b;
  AddBusybox(b);
  b.options.secrets = {{"token", "v"}};
  const std::string dockerfile = "FROM busybox\nRUN --mount=type=secret,id=token,required make\n";
  b.Run(dockerfile);
  b.options.secrets.clear();
  CHECK(ErrorOf(b, dockerfile) == "(no error)");
}

TEST_CASE("the first ssh mount is the step's SSH_AUTH_SOCK") {
  FakeBuild b;
  AddBusybox(b);
  b.options.ssh_agents = {{"default", "/tmp/agent.sock"}, {"work", "/tmp/work.sock"}};
  b.Run("FROM busybox\nRUN --mount=type=ssh --mount=type=ssh,id=work,uid=1000 git fetch\n");
  const runner::StepSpec& spec = OnlyRun(b);
  REQUIRE(spec.mounts.size() == 2);
  CHECK(spec.mounts[0].target == "/run/buildkit/ssh_agent.0");
  CHECK(spec.mounts[0].agent_socket == "/tmp/agent.sock");
  CHECK(spec.mounts[1].target == "/run/buildkit/ssh_agent.1");
  CHECK(spec.mounts[1].agent_socket == "/tmp/work.sock");
  CHECK(spec.mounts[1].uid == 1000u);
  CHECK(HasEnv(spec, "SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0"));
}

TEST_CASE("a RUN with mounts has another key than the same RUN without") {
  FakeBuild b;
  AddBusybox(b);
  builder::StageResult plain = b.Run("FROM busybox\nRUN make\n");
  builder::StageResult mounted = b.Run("FROM busybox\nRUN --mount=type=tmpfs,target=/t make\n");
  CHECK(plain.key != mounted.key);
}

TEST_CASE("RUN --network asks the runtime for that network") {
  FakeBuild b;
  AddBusybox(b);
  b.Run("FROM busybox\nRUN --network=none a\nRUN --network=host b\nRUN --network=default c\n");
  REQUIRE(b.runtime.runs.size() == 3);
  CHECK(b.runtime.runs[0].run.network == runner::NetworkMode::kNone);
  CHECK(b.runtime.runs[1].run.network == runner::NetworkMode::kHost);
  CHECK(b.runtime.runs[2].run.network == b.options.network);
}
