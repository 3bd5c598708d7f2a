#include "builder/copy_step.h"

#include <algorithm>

#include "builder/builder.h"
#include "builder/cache_key.h"
#include "builder/step_executor.h"
#include "store/platform.h"

namespace bld::builder {

namespace {

constexpr mode_t kWorkdirMode = 0755;

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  return text;
}

bool IsNumber(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// Whether a --chown spec is uid[:gid] in numbers.
bool NumericOwner(const std::string& chown) {
  size_t colon = chown.find(':');
  return IsNumber(chown.substr(0, colon)) && (colon == std::string::npos || IsNumber(chown.substr(colon + 1)));
}

// --chown=42 is 42:42: BuildKit gives a numeric user without a group the
// gid of the same number (a name without a group gets its passwd group).
std::string ChownSpec(const std::string& chown) { return IsNumber(chown) ? chown + ":" + chown : chown; }

bool IsUrl(const std::string& s) { return s.starts_with("http://") || s.starts_with("https://"); }

// ADD --checksum, as BuildKit allows it: one source, a URL, a sha256 digest.
void CheckChecksum(const BuildEnv& env, const parser::Instruction& ins, const CopyRequest& req) {
  if (req.checksum.empty()) return;
  if (req.args.size() != 2)
    FailAt(env, ins, "ADD --checksum: the checksum can't be specified for multiple sources");
  if (!IsUrl(req.args[0]))
    FailAt(env, ins,
           "ADD --checksum: the checksum can only be checked for http(s) sources, not " + req.args[0] +
               " (a file of the build context is already pinned by its content)");
  static constexpr std::string_view kPrefix = "sha256:";
  static constexpr size_t kHexDigits = 64;
  std::string hex = req.checksum.starts_with(kPrefix) ? req.checksum.substr(kPrefix.size()) : "";
  if (hex.size() != kHexDigits || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    FailAt(env, ins, "ADD --checksum=" + req.checksum + ": use sha256:<64 lowercase hex digits>");
}

}  // namespace

// The stage `from` names among those `stage` depends on (by name, any case,
// or by index), or -1 when it names an image.
int StageNamed(const BuildEnv& env, const parser::Stage& stage, const std::string& from) {
  std::string lower = Lower(from);
  for (int d : stage.depends_on) {
    const parser::Stage& other = env.dockerfile.stages[d];
    if (other.name == lower || std::to_string(other.index) == from) return d;
  }
  return -1;
}

CopySources PlanSources(BuildEnv& env, const parser::Stage& stage, const parser::Instruction& ins,
                        const std::vector<std::string>& args, const parser::VarMap& vars, const ImageState& state) {
  char escape = env.dockerfile.directives.escape;
  const std::string what(parser::KeywordName(ins.keyword));
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
  req.chown = ChownSpec(req.chown);
  req.parents = ins.Flag("parents") == "true";
  parser::LexOptions lex;
  lex.escape = escape;
  for (const std::string& pattern : ins.FlagValues("exclude")) {
    try {
      req.excludes.push_back(parser::ShellLexer(lex).ProcessWord(pattern, vars));
    } catch (const parser::ExpandError& e) {
      FailAt(env, ins, what + " --exclude=" + pattern + ": " + e.what());
    }
  }
  CheckChecksum(env, ins, req);
  if (ins.Flag("link") == "true" && !req.chown.empty() && !NumericOwner(req.chown))
    FailAt(env, ins,
           what + " --link --chown=" + req.chown +
               ": a linked layer is made apart from the image, where user and group names cannot be looked up; "
               "give numeric ids (--chown=1000:1000)");
  if (ins.keyword != parser::Keyword::kCopy || !ins.HasFlag("from"))
    return PlanCopyFromContext(req, env.context, env.stat_cache);
  for (const char* flag : {"exclude", "parents"})
    if (ins.HasFlag(flag))
      FailAt(env, ins,
             "COPY --from with --" + std::string(flag) +
                 " is not supported by bld yet: it applies to sources in the build context only");
  std::string from = ins.Flag("from");
  int from_stage = StageNamed(env, stage, from);
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
  // --link: made on an empty root, apart from the image (stage_builder.h).
  bool linked = step.ins.Flag("link") == "true";
  out.layer = env.runtime.ApplyFiles(linked ? std::vector<runner::LayerRef>{} : LayerRefs(state), step.sources->plan,
                                     LayerOptions(env));
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
