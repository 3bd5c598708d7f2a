#include "builder/stage_builder.h"

#include <algorithm>

#include "builder/build_cache.h"
#include "builder/builder.h"
#include "builder/cache_key.h"
#include "builder/copy_step.h"
#include "builder/flag_support.h"
#include "builder/mount_planner.h"
#include "builder/run_step.h"
#include "builder/step_executor.h"
#include "builder/step_flights.h"
#include "parser/expansion.h"
#include "runner/container.h"
#include "runner/interrupt.h"
#include "store/error.h"
#include "store/image.h"
#include "store/platform.h"
#include "store/timestamp.h"

namespace bld::builder {

void StageResults::Set(int stage, StageResult result) {
  std::lock_guard lock(mu_);
  results_.at(static_cast<size_t>(stage)) = std::move(result);
}

StageResult StageResults::Get(int stage) const {
  std::lock_guard lock(mu_);
  const std::optional<StageResult>& r = results_.at(static_cast<size_t>(stage));
  if (!r) throw Error("internal error: stage " + std::to_string(stage) + " is used before it was built");
  return *r;
}

std::string HistoryTime(const BuildEnv& env) {
  if (env.options.source_date_epoch)
    return store::FormatTimestamp(std::chrono::system_clock::time_point(std::chrono::seconds(*env.options.source_date_epoch)));
  return store::FormatTimestamp(env.clock());
}

namespace {

using parser::Instruction;
using parser::Keyword;

// The comment BuildKit puts on the history entries of Dockerfile steps.
constexpr std::string_view kHistoryComment = "buildkit.dockerfile.v0";

parser::VarMap EnvMap(const std::vector<std::string>& env) {
  parser::VarMap m;
  for (const std::string& kv : env) {
    size_t eq = kv.find('=');
    m[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return m;
}

// A stage always has PATH, as in BuildKit: a base without one (FROM scratch
// included) gets Docker's default. Returns whether it was added.
bool AddDefaultPath(store::ContainerConfig& config) {
  bool found = false;
  EnvValue(config.env, "PATH", &found);
  if (found) return false;
  config.env.push_back("PATH=" + std::string(runner::kDefaultPath));
  return true;
}

// The instruction as shown in progress lines: keyword and text, one line.
std::string Display(const Instruction& ins) {
  std::string text = ins.original;
  size_t start = text.find_first_not_of(" \t");
  text = start == std::string::npos ? "" : text.substr(start);
  size_t sp = text.find_first_of(" \t");
  std::string rest = sp == std::string::npos ? "" : text.substr(sp + 1);
  std::string out(parser::KeywordName(ins.keyword));
  if (!rest.empty()) out += " " + rest;
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
  return out;
}

// What a step's key covers, with the parts --explain compares.
struct KeyedStep {
  StepKeyInputs key_inputs;
  StepInputs explain_inputs;
  std::optional<CopySources> sources;
  std::optional<PlannedMounts> mounts;
  std::string key;
  // COPY/ADD --link: the key of the layer alone, whatever it is put on.
  std::optional<std::string> link_key;
};

bool Linked(const Instruction& ins) {
  return (ins.keyword == Keyword::kCopy || ins.keyword == Keyword::kAdd) && ins.Flag("link") == "true";
}

// What a --link step's own record holds: its layer and history entry only.
ImageState LinkRecord(const ImageState& after) {
  ImageState record;
  record.config.history.push_back(after.config.history.back());
  if (!after.config.history.back().empty_layer) {
    record.layers.push_back(after.layers.back());
    record.config.rootfs.diff_ids.push_back(after.config.rootfs.diff_ids.back());
  }
  return record;
}

// `state` with a --link step's layer and history entry appended.
ImageState AppendLinked(ImageState state, const ImageState& record) {
  state.layers.insert(state.layers.end(), record.layers.begin(), record.layers.end());
  state.config.rootfs.diff_ids.insert(state.config.rootfs.diff_ids.end(), record.config.rootfs.diff_ids.begin(),
                                      record.config.rootfs.diff_ids.end());
  state.config.history.insert(state.config.history.end(), record.config.history.begin(),
                              record.config.history.end());
  return state;
}

class StageBuilder {
 public:
  StageBuilder(BuildEnv& env, const parser::Stage& stage) : env_(env), stage_(stage) {}

  StageResult Build() {
    // FROM is shown once its base is resolved (the name says what it
    // resolved to), timed from before the resolution (a pull, perhaps).
    auto started = std::chrono::steady_clock::now();
    std::string shown;
    cur_ = Base(&shown);
    std::vector<Instruction> triggers = OnBuildTriggers();
    total_ = 1 + triggers.size() + stage_.instructions.size();
    env_.events.StartStep(StepName(1, "FROM " + shown), stage_.index, started).Done();
    scope_.emplace(env_.dockerfile.global_args, env_.options.build_args, EnvMap(cur_.state.config.config.env),
                   env_.dockerfile.directives.escape);
    size_t index = 0;
    for (const Instruction& ins : triggers) RunInstruction(ins, index++);
    for (const Instruction& ins : stage_.instructions) RunInstruction(ins, index++);
    return cur_;
  }

 private:
  std::string StepName(size_t position, const std::string& text) const {
    std::string label = env_.name_prefix;
    if (env_.dockerfile.stages.size() > 1)
      label += (stage_.name.empty() ? "stage-" + std::to_string(stage_.index) : stage_.name) + " ";
    return "[" + label + std::to_string(position) + "/" + std::to_string(total_) + "] " + text;
  }

  StageResult Base(std::string* shown) {
    if (stage_.base_stage >= 0) {
      *shown = "stage " + env_.dockerfile.stages[stage_.base_stage].name;
      return env_.results.Get(stage_.base_stage);
    }
    store::Platform platform = stage_.platform ? store::ParsePlatform(*stage_.platform) : env_.platform;
    std::string lower = stage_.base;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    StageResult r;
    if (lower == "scratch") {
      r.state.config.architecture = platform.architecture;
      r.state.config.os = platform.os;
      r.state.config.variant = platform.variant;
      AddDefaultPath(r.state.config.config);
      r.key = FromScratchKey(store::FormatPlatform(platform));
      *shown = "scratch";
      return r;
    }
    try {
      ResolvedImage image = env_.images.Resolve(stage_.base, platform);
      r.state = std::move(image.state);
      bool default_path = AddDefaultPath(r.state.config.config);
      r.key = FromImageKey(store::FormatPlatform(platform), image.manifest, default_path);
      *shown = image.shown;
      return r;
    } catch (const Error& e) {
      FailAt(env_, stage_.from, std::string("FROM ") + stage_.base + ": " + e.what());
    }
  }

  // The base's ONBUILD triggers, located at the FROM line; the base's
  // config keeps none of them.
  std::vector<Instruction> OnBuildTriggers() {
    std::vector<Instruction> triggers;
    for (const std::string& t : cur_.state.config.config.on_build) {
      parser::SyntaxTree tree =
          parser::ParseSyntaxTree(t, env_.dockerfile_name + " (ONBUILD of " + stage_.base + ")");
      for (parser::Node& n : tree.nodes) {
        Instruction ins = parser::ParseInstruction(std::move(n), env_.dockerfile_name);
        ins.line = stage_.from.line;
        ins.end_line = stage_.from.end_line;
        triggers.push_back(std::move(ins));
      }
    }
    cur_.state.config.config.on_build.clear();
    return triggers;
  }

  std::vector<std::string> Expand(const Instruction& ins, const parser::VarMap& vars) const {
    try {
      return parser::ExpandArgs(ins, vars, env_.dockerfile.directives.escape);
    } catch (const parser::ExpandError& e) {
      throw parser::ParseError({env_.dockerfile_name, ins.line, ins.end_line, 0}, e.what());
    }
  }

  // The key of `ins` on the current state; `vars` is the scope before it.
  KeyedStep Key(const Instruction& ins, const std::vector<std::string>& args, const parser::VarMap& vars) {
    KeyedStep k;
    StepKeyInputs& in = k.key_inputs;
    in.parent = cur_.key;
    in.instruction = std::string(parser::KeywordName(ins.keyword));
    for (const std::string& f : ins.flags) in.instruction += " " + f;
    for (const std::string& a : args) in.instruction += " " + a;
    if (ins.json_form) in.instruction += " (exec form)";
    for (const parser::Heredoc& doc : ins.heredocs) in.heredocs.push_back({doc.name, doc.content, doc.expand});
    if (ins.keyword == Keyword::kRun) {
      for (const auto& [name, value] : VisibleBuildArgs(*scope_)) in.args[name] = value;
      in.network = env_.options.network == runner::NetworkMode::kNone ? "none" : "host";
      k.mounts = PlanRunMounts(env_, stage_, ins, vars, cur_.state);
      in.mounts = k.mounts->hashes;
      if (env_.options.run_security != runner::ContainerSecurity{})
        in.security = runner::SecurityToJson(env_.options.run_security).dump();
    }
    if (ins.keyword == Keyword::kCopy || ins.keyword == Keyword::kAdd) {
      k.sources = PlanSources(env_, stage_, ins, args, vars, cur_.state);
      in.files = k.sources->hashes;
      in.from_key = k.sources->from_key;
    }
    in.source_date_epoch = env_.options.source_date_epoch;
    if (Linked(ins)) {
      // The layer is made on an empty root: its key has no parent, but the
      // working directory a relative destination resolves against.
      StepKeyInputs alone = in;
      alone.parent = "linked, workdir " + cur_.state.config.config.working_dir;
      k.link_key = StepKey(alone);
      k.key = LinkedStepKey(in.parent, *k.link_key);
    } else {
      k.key = StepKey(in);
    }
    k.explain_inputs = {in.parent, in.instruction, in.args, in.files, ""};
    for (const auto& [mount, hash] : in.mounts) k.explain_inputs.files[mount] = hash;
    return k;
  }

  // Identifies a step across builds (for --explain): the context, the
  // Dockerfile, the stage and the position in it.
  std::string Identity(size_t index) const {
    return KeyHasher("explain")
        .Add(env_.context.root())
        .Add(env_.dockerfile_name)
        .Add(stage_.name.empty() ? std::to_string(stage_.index) : stage_.name)
        .Add(std::to_string(index))
        .Finish();
  }

  void RunInstruction(const Instruction& ins, size_t index) {
    if (env_.cancel.cancelled()) throw Error("build cancelled: another stage failed");
    StepProgress progress = env_.events.StartStep(StepName(index + 2, Display(ins)), stage_.index);
    ++env_.counters.steps;
    try {
      RunKeyed(ins, index, progress);
    } catch (const BuildError& e) {
      progress.Error(e.what());
      throw;
    } catch (const parser::ParseError& e) {
      progress.Error(e.what());
      throw;
    } catch (const runner::Interrupted& e) {
      // Ctrl-C and the cancellation of a step are not failures of the step:
      // the cli exits 130 for the one, and the other stage's error is the
      // one reported for the other.
      progress.Error(e.what());
      throw;
    } catch (const runner::Cancelled&) {
      progress.Cancelled();
      throw;
    } catch (const std::exception& e) {
      progress.Error(e.what());
      FailAt(env_, ins, Display(ins) + ": " + e.what());
    }
  }

  void RunKeyed(const Instruction& ins, size_t index, StepProgress& progress) {
    CheckFlagsSupported(env_, ins);
    parser::VarMap vars = scope_->Vars();
    std::vector<std::string> args = Expand(ins, vars);
    scope_->Apply(ins);
    KeyedStep k = Key(ins, args, vars);
    std::string identity = Identity(index);
    std::optional<ImageState> hit;
    if (!env_.options.no_cache) hit = env_.cache.Get(k.key);
    if (!hit && k.link_key && !env_.options.no_cache) {
      // The same linked layer on another base: reused as it is.
      if (std::optional<ImageState> record = env_.cache.Get(*k.link_key)) {
        hit = AppendLinked(cur_.state, *record);
        env_.cache.Put(k.key, *hit);
      }
    }
    if (hit) return TakeHit(ins, k, identity, std::move(*hit), progress);
    if (env_.options.explain && !env_.options.no_cache)
      progress.Explain(BuildCache::Explain(env_.cache.LastInputs(identity), k.explain_inputs));
    if (env_.flights) {
      // Another platform's graph may run (or have run) the same step.
      StepFlights::Outcome once = env_.flights->Once(k.key, [&] {
        Execute(ins, args, k, progress);
        return cur_.state;
      });
      if (!once.ran) return TakeHit(ins, k, identity, std::move(once.state), progress);
    } else {
      Execute(ins, args, k, progress);
    }
    cur_.key = k.key;
    env_.cache.Put(k.key, cur_.state);
    if (k.link_key) env_.cache.Put(*k.link_key, LinkRecord(cur_.state));
    env_.cache.RememberInputs(identity, k.explain_inputs);
    progress.Done();
  }

  // The step's result is known already: from the cache, or from another
  // graph of this build that ran it.
  void TakeHit(const Instruction& ins, const KeyedStep& k, const std::string& identity, ImageState state,
               StepProgress& progress) {
    cur_.state = std::move(state);
    cur_.key = k.key;
    // ENTRYPOINT's reset of CMD depends on whether CMD came in this stage.
    if (ins.keyword == Keyword::kCmd) stage_state_.cmd_set = true;
    ++env_.counters.cached;
    env_.cache.RememberInputs(identity, k.explain_inputs);
    progress.Cached();
  }

  void Execute(const Instruction& ins, const std::vector<std::string>& args, KeyedStep& k,
               StepProgress& progress) {
    Step step{ins, args, *scope_, stage_state_, k.sources, k.mounts, progress};
    StepOutcome out = ExecuteStep(env_, step, cur_.state);
    if (out.executed) ++env_.counters.executed;
    if (out.layer) {
      cur_.state.layers.push_back(store::LayerDescriptor(*out.layer));
      cur_.state.config.rootfs.diff_ids.push_back(out.layer->diff_id);
      if (env_.layer_added) env_.layer_added(stage_.index, cur_.state);
    }
    store::HistoryEntry entry;
    entry.created = HistoryTime(env_);
    entry.created_by = out.created_by;
    entry.comment = std::string(kHistoryComment);
    entry.empty_layer = !out.layer.has_value();
    cur_.state.config.history.push_back(entry);
  }

  BuildEnv& env_;
  const parser::Stage& stage_;
  StageResult cur_;
  std::optional<parser::StageScope> scope_;
  StageState stage_state_;
  size_t total_ = 0;
};

}  // namespace

StageResult BuildStage(BuildEnv& env, const parser::Stage& stage) { return StageBuilder(env, stage).Build(); }

}  // namespace bld::builder
