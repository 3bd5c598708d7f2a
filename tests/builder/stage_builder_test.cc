// One stage, step by step, against fakes of the store and runner
// (builder_fakes.h): keys, cache hits, what each step asks the runtime to
// do, history, ONBUILD, --from, errors and cancellation.
#include <catch2/catch.hpp>

#include <algorithm>

#include "builder/run_step.h"
#include "builder_fakes.h"
#include "runner/interrupt.h"

using namespace bld;
using bld::testing::FakeBuild;
using bld::testing::FakeImage;
using Type = builder::BuildEvent::Type;

namespace {

// The busybox base, with PATH in its config.
void AddBusybox(FakeBuild& b) {
  store::ContainerConfig config;
  config.env = {"PATH=/bin"};
  b.images.images["busybox"] = FakeImage("busybox", config);
}

bool HasEnv(const runner::StepSpec& spec, const std::string& kv) {
  return std::count(spec.run.env.begin(), spec.run.env.end(), kv) > 0;
}

}  // namespace

TEST_CASE("a RUN that misses runs on the image's layers with its env, user and working directory") {
  FakeBuild b;
  AddBusybox(b);
  b.options.build_args = {{"VERSION", "2"}};
  b.Run("FROM busybox\nUSER 1000\nWORKDIR /app\nARG VERSION\nRUN make\n");
  REQUIRE(b.runtime.runs.size() == 1);
  const runner::StepSpec& spec = b.runtime.runs[0];
  CHECK(spec.run.argv == std::vector<std::string>{"/bin/sh", "-c", "make"});
  CHECK(spec.run.user == "1000");
  CHECK(spec.run.workdir == "/app");
  CHECK(HasEnv(spec, "PATH=/bin"));
  CHECK(HasEnv(spec, "VERSION=2"));
  // The base layer and the WORKDIR's.
  REQUIRE(spec.layers.size() == 2);
  CHECK(spec.layers[0].diff_id == b.images.images["busybox"].state.config.rootfs.diff_ids[0]);
}

TEST_CASE("the same steps on the same base hit the cache and run nothing the second time") {
  FakeBuild b;
  AddBusybox(b);
  builder::StageResult first = b.Run("FROM busybox\nRUN make\nCMD [\"app\"]\n");
  CHECK(b.executed == 1);
  b.runtime.runs.clear();
  builder::StageResult second = b.Run("FROM busybox\nRUN make\nCMD [\"app\"]\n");
  CHECK(b.runtime.runs.empty());
  CHECK(b.cached == 2);
  CHECK(second.key == first.key);
  CHECK(second.state.config == first.state.config);
}

TEST_CASE("a changed instruction misses from that step on") {
  FakeBuild b;
  AddBusybox(b);
  b.Run("FROM busybox\nRUN one\nRUN two\n");
  b.runtime.runs.clear();
  b.Run("FROM busybox\nRUN one\nRUN three\n");
  REQUIRE(b.runtime.runs.size() == 1);
  CHECK(b.runtime.runs[0].run.argv.back() == "three");
}

TEST_CASE("a build arg changes the key of the RUN steps that see it, not of others") {
  FakeBuild b;
  AddBusybox(b);
  b.options.build_args = {{"V", "1"}};
  b.Run("FROM busybox\nRUN before\nARG V\nRUN after\n");
  b.runtime.runs.clear();
  b.options.build_args = {{"V", "2"}};
  b.Run("FROM busybox\nRUN before\nARG V\nRUN after\n");
  REQUIRE(b.runtime.runs.size() == 1);
  CHECK(b.runtime.runs[0].run.argv.back() == "after");
}

TEST_CASE("each instruction adds a history entry; config steps add no layer") {
  FakeBuild b;
  AddBusybox(b);
  builder::StageResult r = b.Run("FROM busybox\nENV A=1\nRUN make\nLABEL x=y\n");
  const auto& history = r.state.config.history;
  REQUIRE(history.size() == 3);
  CHECK(history[0].empty_layer);
  CHECK_FALSE(history[1].empty_layer);
  CHECK(history[1].created_by == "RUN /bin/sh -c make # buildkit");
  CHECK(history[2].empty_layer);
  CHECK(history[0].comment == "buildkit.dockerfile.v0");
  CHECK(history[0].created == "2023-11-14T22:13:20Z");
  CHECK(r.state.layers.size() == 2);
  CHECK(r.state.config.rootfs.diff_ids.size() == 2);
}

TEST_CASE("SOURCE_DATE_EPOCH sets the history times") {
  FakeBuild b;
  AddBusybox(b);
  b.options.source_date_epoch = 0;
  builder::StageResult r = b.Run("FROM busybox\nENV A=1\n");
  CHECK(r.state.config.history.at(0).created == "1970-01-01T00:00:00Z");
}

TEST_CASE("ONBUILD triggers of the base run before the stage's own instructions") {
  FakeBuild b;
  store::ContainerConfig config;
  config.on_build = {"RUN trigger"};
  b.images.images["base"] = FakeImage("base", config);
  builder::StageResult r = b.Run("FROM base\nRUN own\n");
  REQUIRE(b.runtime.runs.size() == 2);
  CHECK(b.runtime.runs[0].run.argv.back() == "trigger");
  CHECK(b.runtime.runs[1].run.argv.back() == "own");
  CHECK(r.state.config.config.on_build.empty());
}

TEST_CASE("COPY --from a stage copies from that stage's layers") {
  FakeBuild b;
  AddBusybox(b);
  b.Run("FROM busybox AS build\nRUN make\nFROM busybox\nCOPY --from=build /out /app/\n");
  REQUIRE(b.runtime.file_steps.size() == 1);
  const auto& plan = b.runtime.file_steps[0].plan;
  // busybox's layer and the one `RUN make` added.
  CHECK(plan.source_layers.size() == 2);
}

TEST_CASE("COPY of a context file plans that file and adds the runtime's layer") {
  FakeBuild b;
  AddBusybox(b);
  b.Context("app.sh", "echo hi\n");
  builder::StageResult r = b.Run("FROM busybox\nCOPY app.sh /bin/\n");
  REQUIRE(b.runtime.file_steps.size() == 1);
  const runner::FilePlan& plan = b.runtime.file_steps[0].plan;
  REQUIRE(plan.ops.size() == 1);
  CHECK(plan.ops[0].context_path == "app.sh");
  CHECK(r.state.layers.size() == 2);
}

TEST_CASE("a changed context file misses its COPY; the same content hits") {
  FakeBuild b;
  AddBusybox(b);
  b.Context("a.txt", "one");
  b.Run("FROM busybox\nCOPY a.txt /\n");
  b.Context("a.txt", "one");
  b.Run("FROM busybox\nCOPY a.txt /\n");
  CHECK(b.runtime.file_steps.size() == 1);
  b.Context("a.txt", "two");
  b.Run("FROM busybox\nCOPY a.txt /\n");
  CHECK(b.runtime.file_steps.size() == 2);
}

TEST_CASE("WORKDIR / adds no layer; another WORKDIR creates it owned by USER") {
  FakeBuild b;
  AddBusybox(b);
  builder::StageResult r = b.Run("FROM busybox\nWORKDIR /\nUSER 7\nWORKDIR /srv\n");
  REQUIRE(b.runtime.file_steps.size() == 1);
  const runner::FilePlan& plan = b.runtime.file_steps[0].plan;
  CHECK(plan.owner == "7");
  REQUIRE(plan.ops.size() == 1);
  CHECK(plan.ops[0].dest == "/srv");
  CHECK(plan.ops[0].keep_existing);
  CHECK(r.state.config.config.working_dir == "/srv");
}

TEST_CASE("a failing RUN is an error at its line with the command, status and last output") {
  FakeBuild b;
  AddBusybox(b);
  b.runtime.on_run = [](const runner::StepSpec&, const runner::OutputLines::LineCallback& on_line) {
    on_line("compiling");
    runner::StepResult r;
    r.status.code = 2;
    r.output_tail = {"compiling", "error: boom"};
    return r;
  };
  try {
    b.Run("FROM busybox\n\nRUN make\n");
    FAIL("the build should fail");
  } catch (const builder::BuildError& e) {
    CHECK(e.where().line == 3);
    CHECK(std::string(e.what()) == "process \"/bin/sh -c make\" did not complete successfully: exit code 2");
    CHECK(e.output_tail() == std::vector<std::string>{"compiling", "error: boom"});
  }
  CHECK(std::any_of(b.events.begin(), b.events.end(), [](const auto& e) { return e.type == Type::kStepError; }));
  CHECK(std::any_of(b.events.begin(), b.events.end(),
                    [](const auto& e) { return e.type == Type::kStepOutput && e.text == "compiling"; }));
}

TEST_CASE("FROM an image nobody has fails at the FROM line") {
  FakeBuild b;
  try {
    b.Run("# base\nFROM nothing\n");
    FAIL("the build should fail");
  } catch (const builder::BuildError& e) {
    CHECK(e.where().line == 2);
    CHECK(std::string(e.what()).find("FROM nothing: no image nothing") == 0);
  }
}

TEST_CASE("a cancelled build stops before its next step") {
  FakeBuild b;
  AddBusybox(b);
  b.cancel_after_steps = 2;  // FROM, then the first RUN
  CHECK_THROWS_WITH(b.Run("FROM busybox\nRUN one\nRUN two\n"), "build cancelled: another stage failed");
  CHECK(b.runtime.runs.size() == 1);
}

TEST_CASE("a RUN stopped by the cancellation is shown as cancelled, not failed") {
  FakeBuild b;
  AddBusybox(b);
  b.runtime.on_run = [](const runner::StepSpec&, const runner::OutputLines::LineCallback&) -> runner::StepResult {
    throw runner::Cancelled();
  };
  CHECK_THROWS_AS(b.Run("FROM busybox\nRUN long\n"), runner::Cancelled);
  CHECK(std::any_of(b.events.begin(), b.events.end(), [](const auto& e) { return e.type == Type::kStepCancelled; }));
  CHECK_FALSE(
      std::any_of(b.events.begin(), b.events.end(), [](const auto& e) { return e.type == Type::kStepError; }));
}

TEST_CASE("a heredoc RUN with a #! line runs as a script; other heredocs follow the command") {
  parser::Dockerfile df = parser::ParseDockerfile(
      "FROM x\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\nRUN cat <<A\nhello\nA\n");
  store::ContainerConfig config;
  std::vector<std::string> script = builder::RunArgv(df.stages[0].instructions[0], config);
  REQUIRE(script.size() == 3);
  CHECK(script[2].find("#!/usr/bin/env python3\nprint(1)\n") != std::string::npos);
  std::vector<std::string> appended = builder::RunArgv(df.stages[0].instructions[1], config);
  CHECK(appended == std::vector<std::string>{"/bin/sh", "-c", "cat <<A\nhello\nA"});
}

TEST_CASE("a RUN runs in Docker's sandbox unless the build's security options change it") {
  FakeBuild b;
  AddBusybox(b);
  b.Run("FROM busybox\nRUN make\n");
  REQUIRE(b.runtime.runs.size() == 1);
  CHECK(b.runtime.runs[0].security == runner::ContainerSecurity{});
  b.options.run_security.no_new_privileges = true;
  b.Run("FROM busybox\nRUN make\n");
  REQUIRE(b.runtime.runs.size() == 2);
  CHECK(b.runtime.runs[1].security.no_new_privileges);
  CHECK_FALSE(b.runtime.runs[1].security.privileged);
}

TEST_CASE("the build's security options are in the keys of its RUN steps only") {
  FakeBuild b;
  AddBusybox(b);
  builder::StageResult sandbox = b.Run("FROM busybox\nCMD [\"app\"]\n");
  builder::StageResult run_sandbox = b.Run("FROM busybox\nRUN make\n");
  b.options.run_security.no_new_privileges = true;
  CHECK(b.Run("FROM busybox\nCMD [\"app\"]\n").key == sandbox.key);
  CHECK(b.Run("FROM busybox\nRUN make\n").key != run_sandbox.key);
}

TEST_CASE("RUN --security=insecure runs privileged, --security=sandbox as the default") {
  FakeBuild b;
  AddBusybox(b);
  b.options.allow_insecure = true;
  b.Run("FROM busybox\nRUN --security=insecure make\nRUN --security=sandbox make check\n");
  REQUIRE(b.runtime.runs.size() == 2);
  CHECK(b.runtime.runs[0].security.privileged);
  CHECK(b.runtime.runs[1].security == runner::ContainerSecurity{});
}

TEST_CASE("RUN --security=insecure without --allow security.insecure is refused at its line") {
  builder::BuildOptions options;
  parser::Dockerfile df =
      parser::ParseDockerfile("FROM busybox AS unused\nRUN --security=insecure a\nFROM busybox\nRUN true\n"
                              "RUN --security=insecure make\n");
  try {
    builder::CheckRunEntitlements(df, "Dockerfile", options);
    FAIL("no error");
  } catch (const builder::BuildError& e) {
    CHECK(e.where().line == 5);
    CHECK(std::string(e.what()) ==
          "RUN --security=insecure needs the security.insecure entitlement: run bld build --allow "
          "security.insecure (the step then runs privileged, with every capability) or remove the flag");
  }
  options.allow_insecure = true;
  CHECK_NOTHROW(builder::CheckRunEntitlements(df, "Dockerfile", options));
}
