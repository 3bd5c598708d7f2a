#include "builder/copy_step.h"

#include <algorithm>

#include "builder/builder.h"
#include "builder/cache_key.h"
#include "store/platform.h"

namespace bld::builder {

namespace {

constexpr mode_t kWorkdirMode = 0755;

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  return text;
}

// The stage `from` names among those `stage` depends on (by name, any case,
// or by index), or -1 when it names an image.
int FromStage(const BuildEnv& env, const parser::Stage& stage, const std::string& from) {
  std::string lower = Lower(from);
  for (int d : stage.depends_on) {
    const parser::Stage& other = env.dockerfile.stages[d];
    if (other.name == lower || std::to_string(other.index) == from) return d;
  }
  return -1;
}

}  // namespace

CopySources PlanSources(BuildEnv& env, const parser::Stage& stage, const parser::Instruction& ins,
                        const std::vector<std::string>& args, const parser::VarMap& vars, const ImageState& state) {
  char escape = env.dockerfile.directives.escape;
  CopyRequest req;
  req.instruction = &ins;
  req.args = args;
  req.vars = vars;
  req.escape = escape;
  req.workdir = state.config.config.working_dir;
  req.chown = parser::ExpandFlag(ins, "chown", vars, escape);
  req.chmod = parser::ExpandFlag(ins, "chmod", vars, escape);
  req.checksum = parser::ExpandFlag(ins, "checksum", vars, escape);
  req.scratch_dir = env.scratch_dir;
  if (ins.keyword != parser::Keyword::kCopy || !ins.HasFlag("from"))
    return PlanCopyFromContext(req, env.context, env.stat_cache);
  std::string from = ins.Flag("from");
  int from_stage = FromStage(env, stage, from);
  if (from_stage >= 0) {
    StageResult source = env.results.Get(from_stage);
    req.from_layers = LayerRefs(source.state);
    req.from_key = source.key;
  } else {
    ResolvedImage image = env.images.Resolve(from, env.platform);
    req.from_layers = LayerRefs(image.state);
    req.from_key = FromImageKey(store::FormatPlatform(env.platform), image.manifest);
  }
  return PlanCopyFromImage(req);
}

StepOutcome ExecuteCopy(BuildEnv& env, const Step& step, ImageState& state) {
  StepOutcome out;
  out.layer = env.runtime.ApplyFiles(LayerRefs(state), step.sources->plan, LayerOptions(env));
  out.created_by = CreatedBy(step.ins, step.args, state.config.config, {});
  out.executed = true;
  return out;
}

StepOutcome ExecuteWorkdir(BuildEnv& env, const Step& step, ImageState& state) {
  ApplyToConfig(step.ins, step.args, state.config, step.stage_state);
  const store::ContainerConfig& config = state.config.config;
  StepOutcome out;
  if (config.working_dir != "/") {
    runner::FilePlan plan;
    runner::FileOp op;
    op.type = runner::FileOp::Type::kDirectory;
    op.dest = config.working_dir;
    op.mode = kWorkdirMode;
    op.keep_existing = true;
    plan.ops.push_back(op);
    plan.owner = config.user;
    out.layer = env.runtime.ApplyFiles(LayerRefs(state), plan, LayerOptions(env));
  }
  out.created_by = CreatedBy(step.ins, step.args, config, {});
  return out;
}

}  // namespace bld::builder
