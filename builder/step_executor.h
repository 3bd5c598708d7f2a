// Executing one instruction whose cache key missed: a RUN in a container,
// a COPY/ADD or WORKDIR applied to the image's files, or a change of the
// config only. Each kind has its executor (run_step.h, copy_step.h,
// config_step.h); ExecuteStep picks it.
//
// An executor changes the image state's config in place and returns the
// layer the step added (none when it changed no file) and the history
// entry's created_by; the stage builder appends both.
//
// Thread-safety: executors of different stages run at once; each uses only
// its Step, its state and the thread-safe parts of BuildEnv.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "builder/config_step.h"
#include "builder/copy_planner.h"
#include "builder/mount_planner.h"
#include "builder/stage_builder.h"
#include "parser/expansion.h"

namespace bld::builder {

// One instruction, expanded and keyed, ready to execute.
struct Step {
  const parser::Instruction& ins;
  const std::vector<std::string>& args;  // after expansion
  const parser::StageScope& scope;       // after the instruction's own ARG/ENV
  StageState& stage_state;
  const std::optional<CopySources>& sources;  // COPY/ADD: what the key hashed
  std::optional<PlannedMounts>& mounts;       // RUN: its --mount mounts
  StepProgress& progress;
};

struct StepOutcome {
  std::optional<store::LayerInfo> layer;
  std::string created_by;
  bool executed = false;  // ran a container or wrote files (BuildResult::executed_steps)
};

StepOutcome ExecuteStep(BuildEnv& env, const Step& step, ImageState& state);

// The options every layer of this build is written with.
store::LayerWriteOptions LayerOptions(const BuildEnv& env);
store::LayerWriteOptions LayerOptions(const BuildOptions& build);

// The layers of `state`, as the runner takes them.
std::vector<runner::LayerRef> LayerRefs(const ImageState& state);

// A failed step, located at its instruction.
[[noreturn]] void FailAt(const BuildEnv& env, const parser::Instruction& ins, const std::string& message,
                         std::vector<std::string> output_tail = {});

}  // namespace bld::builder
