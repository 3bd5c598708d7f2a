#include "builder/step_executor.h"

#include "builder/builder.h"
#include "builder/copy_step.h"
#include "builder/run_step.h"

namespace bld::builder {

StepOutcome ExecuteStep(BuildEnv& env, const Step& step, ImageState& state) {
  switch (step.ins.keyword) {
    case parser::Keyword::kRun:
      return ExecuteRun(env, step, state);
    case parser::Keyword::kCopy:
    case parser::Keyword::kAdd:
      return ExecuteCopy(env, step, state);
    case parser::Keyword::kWorkdir:
      return ExecuteWorkdir(env, step, state);
    default: {
      ApplyToConfig(step.ins, step.args, state.config, step.stage_state);
      StepOutcome out;
      out.created_by = CreatedBy(step.ins, step.args, state.config.config, {});
      return out;
    }
  }
}

store::LayerWriteOptions LayerOptions(const BuildOptions& build) {
  store::LayerWriteOptions options;
  options.compression = build.compression;
  options.source_date_epoch = build.source_date_epoch;
  return options;
}

store::LayerWriteOptions LayerOptions(const BuildEnv& env) { return LayerOptions(env.options); }

std::vector<runner::LayerRef> LayerRefs(const ImageState& state) {
  std::vector<runner::LayerRef> refs;
  for (size_t i = 0; i < state.layers.size(); ++i)
    refs.push_back({state.config.rootfs.diff_ids.at(i), state.layers[i].digest});
  return refs;
}

void FailAt(const BuildEnv& env, const parser::Instruction& ins, const std::string& message,
            std::vector<std::string> output_tail) {
  throw BuildError({env.dockerfile_name, ins.line, ins.end_line, 0}, message, std::move(output_tail));
}

}  // namespace bld::builder
