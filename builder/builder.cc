#include "builder/builder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <semaphore>
#include <sstream>
#include <thread>

#include "builder/build_cache.h"
#include "builder/build_context.h"
#include "builder/config_step.h"
#include "builder/copy_planner.h"
#include "builder/file_step.h"
#include "builder/stat_cache.h"
#include "parser/dockerfile.h"
#include "parser/expansion.h"
#include "registry/image_lookup.h"
#include "registry/puller.h"
#include "registry/reference.h"
#include "runner/interrupt.h"
#include "runner/step_runner.h"
#include "store/digest.h"
#include "store/error.h"
#include "store/image.h"

namespace bld::builder {

namespace {

using parser::Instruction;
using parser::Keyword;
using Clock = std::chrono::steady_clock;

// Bumped whenever the recipe below changes, so old records are never
// mistaken for new ones.
constexpr std::string_view kCacheKeyVersion = "bld-cache-key-v1";
// The comment BuildKit puts on the history entries of Dockerfile steps.
constexpr std::string_view kHistoryComment = "buildkit.dockerfile.v0";

// A cache key: sha256 over length-prefixed fields, so that no two field
// lists hash alike.
class KeyHasher {
 public:
  explicit KeyHasher(std::string_view kind) {
    Add(kCacheKeyVersion);
    Add(kind);
  }
  KeyHasher& Add(std::string_view field) {
    uint64_t n = field.size();
    h_.Update(&n, sizeof n);
    h_.Update(field);
    return *this;
  }
  std::string Finish() { return h_.FinishHex(); }

 private:
  store::Sha256 h_;
};

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  long frac = static_cast<long>(ns % 1'000'000'000);
  tm utc;
  gmtime_r(&secs, &utc);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  if (frac) n += static_cast<size_t>(snprintf(buf + n, sizeof buf - n, ".%09ld", frac));
  // Trailing zeros of the fraction are dropped, as Go's RFC3339Nano does.
  std::string s(buf, n);
  if (s.find('.') != std::string::npos)
    while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s + "Z";
}

store::Platform ToPlatform(const std::string& text) {
  store::Platform p = store::HostPlatform();
  if (text.empty()) return p;
  std::vector<std::string> parts;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, '/');) parts.push_back(part);
  if (parts.size() >= 2) {
    p.os = parts[0];
    p.architecture = parts[1];
    p.variant = parts.size() > 2 ? parts[2] : "";
  }
  return p;
}

std::string PlatformString(const store::Platform& p) {
  return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

parser::VarMap EnvMap(const std::vector<std::string>& env) {
  parser::VarMap m;
  for (const std::string& kv : env) {
    size_t eq = kv.find('=');
    m[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return m;
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
  for (char& c : out)
    if (c == '\n' || c == '\t') c = ' ';
  return out;
}

std::vector<runner::LayerRef> LayerRefs(const ImageState& s) {
  std::vector<runner::LayerRef> refs;
  for (size_t i = 0; i < s.layers.size(); ++i) refs.push_back({s.config.rootfs.diff_ids.at(i), s.layers[i].digest});
  return refs;
}

void AddLayer(ImageState& s, const store::LayerInfo& layer) {
  s.layers.push_back(store::LayerDescriptor(layer));
  s.config.rootfs.diff_ids.push_back(layer.diff_id);
}

// The command a RUN executes. A RUN whose whole command is one heredoc runs
// the heredoc as a script (through its #! interpreter when it has one);
// otherwise heredocs are handed to the shell after the command, which reads
// them as here-documents.
std::vector<std::string> RunArgv(const Instruction& ins, const store::ContainerConfig& config) {
  if (ins.json_form || ins.heredocs.empty()) return CommandArgv(ins, config);
  std::vector<std::string> shell = config.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : config.shell;
  std::string text = ins.args.empty() ? "" : ins.args[0];
  size_t a = text.find_first_not_of(" \t"), b = text.find_last_not_of(" \t");
  std::string trimmed = a == std::string::npos ? "" : text.substr(a, b - a + 1);
  bool bare = ins.heredocs.size() == 1 && trimmed.find_first_of(" \t") == std::string::npos &&
              trimmed.find("<<") != std::string::npos;
  if (bare) {
    const std::string& script = ins.heredocs[0].content;
    if (script.starts_with("#!")) {
      // Written to a file and executed, so that its interpreter runs it.
      std::string delim = "BLD_HEREDOC_" + std::string(store::Sha256::Of(script).hex().substr(0, 16));
      std::string wrapper = "f=/tmp/.bld-heredoc-$$ && cat > \"$f\" <<'" + delim + "'\n" + script + delim +
                            "\nchmod 700 \"$f\" && \"$f\"; rc=$?; rm -f \"$f\"; exit $rc";
      return {"/bin/sh", "-c", wrapper};
    }
    shell.push_back(script);
    return shell;
  }
  std::string full = text;
  for (const parser::Heredoc& h : ins.heredocs) full += "\n" + h.content + h.name;
  shell.push_back(full);
  return shell;
}

struct StageResult {
  ImageState state;
  std::string key;
};

class BuildRun {
 public:
  BuildRun(store::Store& store, const BuildOptions& options, const EventSink& events)
      : store_(store), options_(options), events_(events), stat_cache_(store.meta()), cache_(store) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw SysError("cannot create a pipe for the build");
    cancel_read_ = runner::UniqueFd(fds[0]);
    cancel_write_ = runner::UniqueFd(fds[1]);
  }

  BuildResult Run() {
    LoadContextAndDockerfile();
    parser::ParseOptions po;
    po.file_name = dockerfile_name_;
    po.target = options_.target;
    po.build_args = options_.build_args;
    po.platform = options_.platform;
    df_ = parser::ParseDockerfile(dockerfile_text_, po);
    for (const parser::Warning& w : df_.warnings)
      Emit({BuildEvent::Type::kWarning, 0, "", dockerfile_name_ + ":" + std::to_string(w.line) + ": " + w.message});
    platform_ = ToPlatform(options_.platform);
    results_.resize(df_.stages.size());
    RunStages();
    stat_cache_.Flush();
    cache_.Flush();
    if (first_error_) std::rethrow_exception(first_error_);
    BuildResult result = Finish(*results_[df_.target]);
    result.steps = steps_;
    result.cached_steps = cached_;
    result.executed_steps = executed_;
    return result;
  }

 private:
  void Emit(BuildEvent e) {
    std::lock_guard lock(events_mu_);
    if (events_) events_(e);
  }

  [[noreturn]] void FailAt(const Instruction& ins, const std::string& message,
                           std::vector<std::string> tail = {}) const {
    throw BuildError({dockerfile_name_, ins.line, ins.end_line, 0}, message, std::move(tail));
  }

  void LoadContextAndDockerfile() {
    if (options_.context_tar_fd >= 0) {
      std::string scratch = store_.tmp_dir() + "/context-" + std::to_string(getpid()) + "-" +
                            std::to_string(Clock::now().time_since_epoch().count());
      context_ = BuildContext::FromTar(options_.context_tar_fd, scratch);
    } else {
      std::string dockerfile = options_.dockerfile_text ? "" : DockerfilePath();
      context_ = BuildContext::FromDirectory(options_.context_dir, dockerfile);
    }
    if (options_.dockerfile_text) {
      dockerfile_text_ = *options_.dockerfile_text;
      dockerfile_name_ = "Dockerfile";
      return;
    }
    std::string path = DockerfilePath();
    if (options_.context_tar_fd >= 0) {
      std::optional<std::string> text = context_->ReadFile(path.empty() ? "Dockerfile" : path);
      if (!text) throw Error("the build context has no Dockerfile (" + (path.empty() ? "Dockerfile" : path) + ")");
      dockerfile_text_ = *text;
      dockerfile_name_ = path.empty() ? "Dockerfile" : path;
      return;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw SysError("cannot read Dockerfile " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    dockerfile_text_ = ss.str();
    dockerfile_name_ = options_.dockerfile_path.empty() ? "Dockerfile" : options_.dockerfile_path;
  }

  std::string DockerfilePath() const {
    if (options_.context_tar_fd >= 0) return options_.dockerfile_path;
    if (options_.dockerfile_path.empty()) return options_.context_dir + "/Dockerfile";
    return options_.dockerfile_path;
  }

  void RunStages() {
    int parallelism = options_.parallelism > 0 ? options_.parallelism
                                               : std::max(2u, std::thread::hardware_concurrency());
    std::counting_semaphore<> slots(parallelism);
    std::vector<std::thread> threads;
    for (const parser::Stage& s : df_.stages) {
      if (!s.needed) continue;
      threads.emplace_back([this, &s, &slots] {
        try {
          if (!WaitFor(s.depends_on)) return;
          slots.acquire();
          struct Release {
            std::counting_semaphore<>& s;
            ~Release() { s.release(); }
          } release{slots};
          StageResult r = RunStage(s);
          std::lock_guard lock(mu_);
          results_[s.index] = std::move(r);
        } catch (...) {
          std::lock_guard lock(mu_);
          if (!first_error_) {
            first_error_ = std::current_exception();
            // Stops the RUN steps other stages are in the middle of.
            char byte = 1;
            [[maybe_unused]] ssize_t n = ::write(cancel_write_.get(), &byte, 1);
          }
          failed_ = true;
        }
        done_.notify_all();
      });
    }
    for (std::thread& t : threads) t.join();
  }

  // Waits until the stages `deps` are built; false if the build failed.
  bool WaitFor(const std::vector<int>& deps) {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] {
      if (failed_) return true;
      return std::all_of(deps.begin(), deps.end(), [&](int d) { return results_[d].has_value(); });
    });
    return !failed_;
  }

  StageResult StageOf(int index) {
    std::lock_guard lock(mu_);
    return *results_.at(index);
  }

  std::string StageLabel(const parser::Stage& s) const {
    if (df_.stages.size() == 1) return "";
    return (s.name.empty() ? "stage-" + std::to_string(s.index) : s.name) + " ";
  }

  // A base image from its registry (it is not local, or --pull). Stages
  // that name the same image share one pull.
  store::Descriptor PullImage(const std::string& name, const store::Platform& platform) {
    std::optional<registry::Reference> ref;
    try {
      ref = registry::Reference::ParseDockerRef(name);
    } catch (const Error&) {
      // Not a reference a registry can serve (an image ID prefix, say).
    }
    if (!ref) throw Error("it is not a name a registry serves");
    std::lock_guard lock(pull_mu_);
    std::string key = ref->String() + " " + PlatformString(platform);
    if (auto it = pulled_.find(key); it != pulled_.end()) return it->second;
    registry::PullOptions pull;
    pull.registry = options_.registry;
    pull.platform = platform;
    store::Descriptor desc = registry::Pull(store_, *ref, pull);
    pulled_.emplace(key, desc);
    return desc;
  }

  // The image or stage a FROM or --from names: its state and key.
  StageResult ResolveImage(const std::string& name, const store::Platform& platform, std::string* shown) {
    std::optional<store::Descriptor> desc;
    if (options_.pull) {
      desc = PullImage(name, platform);
    } else if (desc = registry::FindLocalImage(store_, name); !desc) {
      try {
        desc = PullImage(name, platform);
      } catch (const Error& e) {
        throw Error("image " + name + " is not in the local store (" + store_.root() + ") and pulling it failed: " +
                    e.what() + "; make it with `bld import`, `bld load` or `bld build -t " + name + "`");
      }
    }
    store::Image image = store::ReadImage(store_, *desc, platform);
    StageResult r;
    r.state.config = image.config;
    r.state.layers = image.manifest.layers;
    r.key = KeyHasher("from").Add(PlatformString(platform)).Add(image.manifest_descriptor.digest.str()).Finish();
    if (shown) *shown = registry::CanonicalRefName(name) + "@" + image.manifest_descriptor.digest.str();
    return r;
  }

  StageResult Base(const parser::Stage& s, std::string* shown) {
    if (s.base_stage >= 0) {
      *shown = "stage " + df_.stages[s.base_stage].name;
      return StageOf(s.base_stage);
    }
    store::Platform platform = s.platform ? ToPlatform(*s.platform) : platform_;
    std::string lower = s.base;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower == "scratch") {
      StageResult r;
      r.state.config.architecture = platform.architecture;
      r.state.config.os = platform.os;
      r.state.config.variant = platform.variant;
      r.key = KeyHasher("from-scratch").Add(PlatformString(platform)).Finish();
      *shown = "scratch";
      return r;
    }
    try {
      return ResolveImage(s.base, platform, shown);
    } catch (const Error& e) {
      FailAt(s.from, std::string("FROM ") + s.base + ": " + e.what());
    }
  }

  StageResult RunStage(const parser::Stage& s) {
    std::string label = StageLabel(s);
    // ONBUILD triggers of the base run first, as if written after FROM.
    int vertex = ++vertex_counter_;
    auto start = Clock::now();
    std::string shown;
    StageResult cur = Base(s, &shown);
    std::vector<Instruction> triggers;
    for (const std::string& t : cur.state.config.config.on_build) {
      parser::SyntaxTree tree = parser::ParseSyntaxTree(t, dockerfile_name_ + " (ONBUILD of " + s.base + ")");
      for (parser::Node& n : tree.nodes) {
        Instruction ins = parser::ParseInstruction(std::move(n), dockerfile_name_);
        ins.line = s.from.line;
        ins.end_line = s.from.end_line;
        triggers.push_back(std::move(ins));
      }
    }
    cur.state.config.config.on_build.clear();
    size_t total = 1 + triggers.size() + s.instructions.size();
    std::string from_name = "[" + label + "1/" + std::to_string(total) + "] FROM " + shown;
    Emit({BuildEvent::Type::kStepStarted, vertex, from_name, "", 0, s.index});
    Emit({BuildEvent::Type::kStepDone, vertex, from_name, "",
          std::chrono::duration<double>(Clock::now() - start).count(), s.index});

    parser::StageScope scope(df_.global_args, options_.build_args, EnvMap(cur.state.config.config.env),
                             df_.directives.escape);
    StageState stage_state;
    size_t position = 1;
    auto run_one = [&](const Instruction& ins, size_t index_in_stage) {
      ++position;
      if (failed_) throw Error("build cancelled: another stage failed");
      std::string name = "[" + label + std::to_string(position) + "/" + std::to_string(total) + "] " + Display(ins);
      RunStep(s, ins, index_in_stage, name, scope, stage_state, cur);
    };
    size_t i = 0;
    for (const Instruction& ins : triggers) run_one(ins, i++);
    for (const Instruction& ins : s.instructions) run_one(ins, i++);
    return cur;
  }

  void RunStep(const parser::Stage& s, const Instruction& ins, size_t index, const std::string& name,
               parser::StageScope& scope, StageState& stage_state, StageResult& cur) {
    int vertex = ++vertex_counter_;
    auto start = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    Emit({BuildEvent::Type::kStepStarted, vertex, name, "", 0, s.index});
    ++steps_;
    try {
      parser::VarMap vars = scope.Vars();
      std::vector<std::string> args;
      try {
        args = parser::ExpandArgs(ins, vars, df_.directives.escape);
      } catch (const parser::ExpandError& e) {
        throw parser::ParseError({dockerfile_name_, ins.line, ins.end_line, 0}, e.what());
      }
      scope.Apply(ins);

      StepInputs inputs;
      inputs.parent = cur.key;
      inputs.instruction = std::string(parser::KeywordName(ins.keyword));
      for (const std::string& f : ins.flags) inputs.instruction += " " + f;
      for (const std::string& a : args) inputs.instruction += " " + a;
      if (ins.json_form) inputs.instruction += " (exec form)";
      if (ins.keyword == Keyword::kRun)
        for (const auto& [k, v] : RunArgs(scope)) inputs.args[k] = v;

      std::optional<CopySources> sources;
      if (ins.keyword == Keyword::kCopy || ins.keyword == Keyword::kAdd) {
        sources = PlanSources(s, ins, args, vars, cur);
        inputs.files = sources->hashes;
      }
      KeyHasher h("step");
      h.Add(cur.key).Add(inputs.instruction);
      for (const parser::Heredoc& doc : ins.heredocs) h.Add(doc.name).Add(doc.content).Add(doc.expand ? "e" : "r");
      for (const auto& [k, v] : inputs.args) h.Add(k).Add(v);
      for (const auto& [k, v] : inputs.files) h.Add(k).Add(v);
      if (sources) h.Add(sources->from_key);
      if (ins.keyword == Keyword::kRun) h.Add(options_.network == runner::NetworkMode::kNone ? "net:none" : "net:host");
      // Only when set: a layer's times depend on it, and keys without it stay as they were.
      if (options_.source_date_epoch) h.Add("source-date-epoch").Add(std::to_string(*options_.source_date_epoch));
      std::string key = h.Finish();

      std::string identity = KeyHasher("explain")
                                 .Add(context_->root())
                                 .Add(dockerfile_name_)
                                 .Add(s.name.empty() ? std::to_string(s.index) : s.name)
                                 .Add(std::to_string(index))
                                 .Finish();
      std::optional<ImageState> hit;
      if (!options_.no_cache) hit = cache_.Get(key);
      if (hit) {
        cur.state = std::move(*hit);
        cur.key = key;
        // ENTRYPOINT's reset of CMD depends on whether CMD came in this stage.
        if (ins.keyword == Keyword::kCmd) stage_state.cmd_set = true;
        ++cached_;
        cache_.RememberInputs(identity, inputs);
        Emit({BuildEvent::Type::kStepCached, vertex, name, "", elapsed(), s.index});
        return;
      }
      if (options_.explain && !options_.no_cache)
        Emit({BuildEvent::Type::kExplain, vertex, name, BuildCache::Explain(cache_.LastInputs(identity), inputs),
              0, s.index});

      Execute(s, ins, args, scope, stage_state, cur.state, sources, vertex, name, start);
      cur.key = key;
      cache_.Put(key, cur.state);
      cache_.RememberInputs(identity, inputs);
      Emit({BuildEvent::Type::kStepDone, vertex, name, "", elapsed(), s.index});
    } catch (const BuildError& e) {
      Emit({BuildEvent::Type::kStepError, vertex, name, e.what(), elapsed(), s.index});
      throw;
    } catch (const parser::ParseError& e) {
      Emit({BuildEvent::Type::kStepError, vertex, name, e.what(), elapsed(), s.index});
      throw;
    } catch (const runner::Interrupted& e) {
      // Ctrl-C and the cancellation of a step are not failures of the step:
      // the cli exits 130 for the one, and the other stage's error is the
      // one reported for the other.
      Emit({BuildEvent::Type::kStepError, vertex, name, e.what(), elapsed(), s.index});
      throw;
    } catch (const runner::Cancelled&) {
      Emit({BuildEvent::Type::kStepCancelled, vertex, name, "", elapsed(), s.index});
      throw;
    } catch (const std::exception& e) {
      Emit({BuildEvent::Type::kStepError, vertex, name, e.what(), elapsed(), s.index});
      FailAt(ins, Display(ins) + ": " + e.what());
    }
  }

  // The build args a RUN sees (and whose values are part of its key): the
  // ARGs in scope, unless ENV of the same name hides them.
  parser::VarMap RunArgs(const parser::StageScope& scope) const {
    parser::VarMap out;
    for (const auto& [k, v] : scope.args())
      if (!scope.env().count(k)) out[k] = v;
    return out;
  }

  CopySources PlanSources(const parser::Stage& s, const Instruction& ins, const std::vector<std::string>& args,
                          const parser::VarMap& vars, const StageResult& cur) {
    CopyRequest req;
    req.instruction = &ins;
    req.args = args;
    req.vars = vars;
    req.escape = df_.directives.escape;
    req.workdir = cur.state.config.config.working_dir;
    req.chown = parser::ExpandFlag(ins, "chown", vars, df_.directives.escape);
    req.chmod = parser::ExpandFlag(ins, "chmod", vars, df_.directives.escape);
    req.checksum = parser::ExpandFlag(ins, "checksum", vars, df_.directives.escape);
    req.scratch_dir = store_.tmp_dir();
    if (ins.keyword == Keyword::kCopy && ins.HasFlag("from")) {
      std::string from = ins.Flag("from");
      int stage = -1;
      for (int d : s.depends_on) {
        const parser::Stage& other = df_.stages[d];
        if (other.name == from || std::to_string(other.index) == from) stage = d;
      }
      std::string lower = from;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      for (int d : s.depends_on)
        if (df_.stages[d].name == lower) stage = d;
      StageResult src = stage >= 0 ? StageOf(stage) : ResolveImage(from, platform_, nullptr);
      req.from_layers = LayerRefs(src.state);
      req.from_key = src.key;
      return PlanCopyFromImage(req);
    }
    return PlanCopyFromContext(req, *context_, stat_cache_);
  }

  void Execute(const parser::Stage& s, const Instruction& ins, const std::vector<std::string>& args,
               const parser::StageScope& scope, StageState& stage_state, ImageState& state,
               const std::optional<CopySources>& sources, int vertex, const std::string& name,
               Clock::time_point start) {
    store::ContainerConfig& config = state.config.config;
    store::LayerWriteOptions layer_options;
    layer_options.compression = options_.compression;
    layer_options.source_date_epoch = options_.source_date_epoch;
    std::optional<store::LayerInfo> layer;
    std::string created_by;
    switch (ins.keyword) {
      case Keyword::kRun: {
        runner::StepSpec spec;
        spec.layers = LayerRefs(state);
        spec.run.argv = RunArgv(ins, config);
        spec.run.env = config.env;
        for (const auto& [k, v] : RunArgs(scope)) {
          bool in_env = false;
          EnvValue(spec.run.env, k, &in_env);
          if (!in_env) spec.run.env.push_back(k + "=" + v);
        }
        for (const auto& [k, v] : options_.build_args)
          if (parser::IsPredefinedProxyArg(k) && !scope.args().count(k)) spec.run.env.push_back(k + "=" + v);
        spec.run.user = config.user;
        spec.run.workdir = config.working_dir;
        spec.run.network = options_.network;
        std::string net = ins.Flag("network");
        if (net == "none") spec.run.network = runner::NetworkMode::kNone;
        if (net == "host") spec.run.network = runner::NetworkMode::kHost;
        spec.layer_options = layer_options;
        spec.cancel_fd = cancel_read_.get();
        runner::StepResult r = runner::RunStep(store_, spec, [&](std::string_view line) {
          Emit({BuildEvent::Type::kStepOutput, vertex, name, std::string(line),
                std::chrono::duration<double>(Clock::now() - start).count(), s.index});
        });
        if (!r.status.ok()) {
          std::string shown;
          for (const std::string& a : spec.run.argv) shown += (shown.empty() ? "" : " ") + a;
          FailAt(ins, "process \"" + shown + "\" did not complete successfully: " + r.status.Describe(),
                 r.output_tail);
        }
        layer = r.layer;
        created_by = CreatedBy(ins, args, config, RunArgs(scope));
        ++executed_;
        break;
      }
      case Keyword::kCopy:
      case Keyword::kAdd: {
        FilePlan plan = sources->plan;
        layer = ApplyFilePlan(store_, LayerRefs(state), plan, layer_options);
        created_by = CreatedBy(ins, args, config, {});
        ++executed_;
        break;
      }
      case Keyword::kWorkdir: {
        ApplyToConfig(ins, args, state.config, stage_state);
        FilePlan plan;
        FileOp op;
        op.type = FileOp::Type::kDirectory;
        op.dest = config.working_dir;
        op.mode = 0755;
        op.keep_existing = true;
        plan.ops.push_back(op);
        plan.owner = config.user;
        if (config.working_dir != "/") layer = ApplyFilePlan(store_, LayerRefs(state), plan, layer_options);
        created_by = CreatedBy(ins, args, config, {});
        break;
      }
      default:
        ApplyToConfig(ins, args, state.config, stage_state);
        created_by = CreatedBy(ins, args, config, {});
        break;
    }
    if (layer) AddLayer(state, *layer);
    store::HistoryEntry entry;
    entry.created = Now();
    entry.created_by = created_by;
    entry.comment = std::string(kHistoryComment);
    entry.empty_layer = !layer.has_value();
    state.config.history.push_back(entry);
  }

  std::string Now() const {
    if (options_.source_date_epoch)
      return Rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(*options_.source_date_epoch)));
    return Rfc3339(std::chrono::system_clock::now());
  }

  BuildResult Finish(const StageResult& target) {
    store::ImageConfig config = target.state.config;
    for (const auto& [k, v] : options_.labels) config.config.labels[k] = v;
    config.created = config.history.empty() ? Now() : config.history.back().created;
    if (config.architecture.empty()) {
      config.architecture = platform_.architecture;
      config.os = platform_.os;
    }
    store::Digest image_id;
    store::Descriptor desc = store::WriteImage(store_, config, target.state.layers, options_.oci_format, &image_id);
    std::vector<std::string> names;
    for (const std::string& t : options_.tags) names.push_back(registry::CanonicalRefName(t));
    // An untagged image still gets a ref, so that prune keeps it and it can
    // be run by ID, as Docker's <none> images.
    if (names.empty()) names.push_back("<none>@" + desc.digest.str());
    for (const std::string& n : names) store_.PutRef(n, desc);
    BuildResult r;
    r.image_id = image_id;
    r.manifest = desc;
    return r;
  }

  store::Store& store_;
  const BuildOptions& options_;
  const EventSink& events_;
  StatCache stat_cache_;
  BuildCache cache_;
  std::unique_ptr<BuildContext> context_;
  std::string dockerfile_text_;
  std::string dockerfile_name_;
  parser::Dockerfile df_;
  store::Platform platform_;

  std::mutex events_mu_;
  std::mutex mu_;
  std::condition_variable done_;
  std::mutex pull_mu_;
  std::map<std::string, store::Descriptor> pulled_;  // by "<ref> <platform>"
  std::vector<std::optional<StageResult>> results_;
  std::exception_ptr first_error_;
  // Readable from the first failure on (runner::StepSpec::cancel_fd).
  runner::UniqueFd cancel_read_, cancel_write_;
  std::atomic<bool> failed_{false};
  std::atomic<int> vertex_counter_{0};
  std::atomic<int> steps_{0}, cached_{0}, executed_{0};
};

}  // namespace

BuildResult Build(store::Store& store, const BuildOptions& options, const EventSink& events) {
  return BuildRun(store, options, events).Run();
}

}  // namespace bld::builder
