#include "builder/run_step.h"

#include "builder/builder.h"
#include "parser/dockerfile.h"
#include "runner/emulation.h"
#include "store/digest.h"
#include "store/image.h"

namespace bld::builder {

namespace {

std::string Trim(const std::string& text) {
  size_t a = text.find_first_not_of(" \t"), b = text.find_last_not_of(" \t");
  return a == std::string::npos ? "" : text.substr(a, b - a + 1);
}

// A heredoc script with a #! line: written to a file and executed, so that
// its interpreter runs it.
std::vector<std::string> ScriptArgv(const std::string& script) {
  std::string delim = "BLD_HEREDOC_" + std::string(store::Sha256::Of(script).hex().substr(0, 16));
  std::string wrapper = "f=/tmp/.bld-heredoc-$$ && cat > \"$f\" <<'" + delim + "'\n" + script + delim +
                        "\nchmod 700 \"$f\" && \"$f\"; rc=$?; rm -f \"$f\"; exit $rc";
  return {"/bin/sh", "-c", wrapper};
}

std::vector<std::string> RunEnvironment(const BuildEnv& env, const parser::StageScope& scope,
                                        const store::ContainerConfig& config) {
  std::vector<std::string> out = config.env;
  for (const auto& [k, v] : VisibleBuildArgs(scope)) {
    bool in_env = false;
    EnvValue(out, k, &in_env);
    if (!in_env) out.push_back(k + "=" + v);
  }
  for (const auto& [k, v] : env.options.build_args)
    if (parser::IsPredefinedProxyArg(k) && !scope.args().count(k)) out.push_back(k + "=" + v);
  return out;
}

runner::NetworkMode RunNetwork(const BuildEnv& env, const parser::Instruction& ins) {
  std::string net = ins.Flag("network");
  if (net == "none") return runner::NetworkMode::kNone;
  if (net == "host") return runner::NetworkMode::kHost;
  return env.options.network;
}

constexpr std::string_view kInsecure = "insecure";
constexpr std::string_view kInsecureNeedsEntitlement =
    "RUN --security=insecure needs the security.insecure entitlement: run bld build --allow security.insecure "
    "(the step then runs privileged, with every capability) or remove the flag";

bool Insecure(const parser::Instruction& ins) { return ins.keyword == parser::Keyword::kRun && ins.Flag("security") == kInsecure; }

runner::ContainerSecurity RunSecurity(const BuildOptions& options, const parser::Instruction& ins) {
  runner::ContainerSecurity security = options.run_security;
  if (Insecure(ins)) security.privileged = true;
  return security;
}

std::string Shown(const std::vector<std::string>& argv) {
  std::string shown;
  for (const std::string& a : argv) shown += (shown.empty() ? "" : " ") + a;
  return shown;
}

}  // namespace

parser::VarMap VisibleBuildArgs(const parser::StageScope& scope) {
  parser::VarMap out;
  for (const auto& [k, v] : scope.args())
    if (!scope.env().count(k)) out[k] = v;
  return out;
}

std::vector<std::string> RunArgv(const parser::Instruction& ins, const store::ContainerConfig& config) {
  if (ins.json_form || ins.heredocs.empty()) return CommandArgv(ins, config);
  std::vector<std::string> shell = config.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : config.shell;
  std::string text = ins.args.empty() ? "" : ins.args[0];
  std::string trimmed = Trim(text);
  bool bare = ins.heredocs.size() == 1 && trimmed.find_first_of(" \t") == std::string::npos &&
              trimmed.find("<<") != std::string::npos;
  if (bare) {
    const std::string& script = ins.heredocs[0].content;
    if (script.starts_with("#!")) return ScriptArgv(script);
    shell.push_back(script);
    return shell;
  }
  std::string full = text;
  for (const parser::Heredoc& h : ins.heredocs) full += "\n" + h.content + h.name;
  shell.push_back(full);
  return shell;
}

// A RUN of another architecture's image runs under QEMU: refused up front,
// saying what to install, when no emulator is registered (emulation.h),
// rather than failing with the kernel's bare "exec format error".
void CheckRunnable(const BuildEnv& env, const Step& step, const store::ImageConfig& image) {
  std::optional<store::Platform> platform = store::ConfigPlatform(image);
  if (!platform) return;
  if (std::optional<std::string> problem = runner::EmulationProblem(*platform))
    FailAt(env, step.ins, "cannot run this step: " + *problem);
}

StepOutcome ExecuteRun(BuildEnv& env, const Step& step, ImageState& state) {
  const store::ContainerConfig& config = state.config.config;
  CheckRunnable(env, step, state.config);
  runner::StepSpec spec;
  spec.layers = LayerRefs(state);
  spec.run.argv = RunArgv(step.ins, config);
  spec.run.env = RunEnvironment(env, step.scope, config);
  spec.run.user = config.user;
  spec.run.workdir = config.working_dir;
  spec.run.network = RunNetwork(env, step.ins);
  spec.security = RunSecurity(env.options, step.ins);
  if (step.mounts) {
    for (const std::string& kv : ProvideSecrets(env, step.ins, *step.mounts)) {
      size_t eq = kv.find('=');
      SetEnv(spec.run.env, kv.substr(0, eq), kv.substr(eq + 1));
    }
    spec.mounts = step.mounts->mounts;
  }
  spec.layer_options = LayerOptions(env);
  spec.cancel_fd = env.cancel.fd();
  runner::StepResult r = env.runtime.Run(spec, [&](std::string_view line) { step.progress.Output(line); });
  if (r.exited != std::chrono::steady_clock::time_point{}) step.progress.ProcessExited(r.exited);
  if (!r.status.ok())
    FailAt(env, step.ins,
           "process \"" + Shown(spec.run.argv) + "\" did not complete successfully: " + r.status.Describe(),
           r.output_tail);
  StepOutcome out;
  out.layer = r.layer;
  out.created_by = CreatedBy(step.ins, step.args, config, VisibleBuildArgs(step.scope));
  out.executed = true;
  return out;
}

void CheckRunEntitlements(const parser::Dockerfile& dockerfile, const std::string& dockerfile_name,
                          const BuildOptions& options) {
  if (options.allow_insecure) return;
  for (const parser::Stage& stage : dockerfile.stages) {
    if (!stage.needed) continue;
    for (const parser::Instruction& ins : stage.instructions)
      if (Insecure(ins))
        throw BuildError({dockerfile_name, ins.line, ins.end_line, 0}, std::string(kInsecureNeedsEntitlement));
  }
}

}  // namespace bld::builder
