#include "builder/mount_planner.h"

#include <dirent.h>
#include <sys/stat.h>

#include <memory>
#include <set>
#include <stdexcept>

#include "builder/builder.h"
#include "builder/cache_key.h"
#include "builder/config_step.h"
#include "builder/copy_planner.h"
#include "builder/copy_step.h"
#include "builder/flag_support.h"
#include "builder/step_executor.h"
#include "store/platform.h"
#include "store/error.h"

namespace bld::builder {

namespace {

using runner::StepMount;

// BuildKit's defaults for where a secret and an agent socket appear.
constexpr std::string_view kSecretsDir = "/run/secrets/";
constexpr std::string_view kAgentSocketPrefix = "/run/buildkit/ssh_agent.";
constexpr std::string_view kAgentSocketEnv = "SSH_AUTH_SOCK";

std::string Basename(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string JoinRel(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  return b.empty() ? a : a + "/" + b;
}

// The context paths under `rel` that .dockerignore leaves out, given what
// the walk kept: an excluded directory with nothing kept below it once,
// not each of its entries.
void CollectHidden(const BuildContext& context, const std::string& rel, const std::set<std::string>& kept,
                   std::vector<std::string>& hidden) {
  std::string dir = context.root() + (rel.empty() ? "" : "/" + rel);
  std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(dir.c_str()), ::closedir);
  if (!listing) throw SysError("cannot list build context directory " + dir);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(listing.get())) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  for (const std::string& name : names) {
    std::string child = JoinRel(rel, name);
    if (!kept.count(child)) {
      hidden.push_back(child);
      continue;
    }
    struct stat st;
    if (::lstat((context.root() + "/" + child).c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      CollectHidden(context, child, kept, hidden);
  }
}

// A bind's (or a cache's `from`) source tree, and the hash of what it shows.
struct Source {
  runner::MountTree tree;
  std::string hash;
};

Source ContextSource(BuildEnv& env, const std::string& source, bool hash) {
  Source out;
  out.tree.from_context = true;
  out.tree.context_dir = env.context.root();
  out.tree.path = env.context.Resolve(source.empty() ? "." : source).front();
  std::set<std::string> kept;
  KeyHasher hasher("bind-context");
  env.context.Walk(out.tree.path, env.stat_cache, [&](const ContextEntry& e) {
    kept.insert(JoinRel(out.tree.path, e.rel));
    if (!hash) return;
    const char* kind = S_ISDIR(e.st.st_mode) ? "d" : S_ISLNK(e.st.st_mode) ? "l" : S_ISREG(e.st.st_mode) ? "f" : "o";
    hasher.Add(e.rel).Add(EntryHash(e, kind));
  });
  struct stat st;
  std::string root = env.context.root() + (out.tree.path.empty() ? "" : "/" + out.tree.path);
  if (::lstat(root.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    CollectHidden(env.context, out.tree.path, kept, out.tree.hidden);
  }
  if (hash) out.hash = hasher.Finish();
  return out;
}

Source StageOrImageSource(BuildEnv& env, const parser::Stage& stage, const std::string& from,
                          const std::string& source) {
  Source out;
  out.tree.path = CleanRelative(source);
  int from_stage = StageNamed(env, stage, from);
  if (from_stage >= 0) {
    StageResult result = env.results.Get(from_stage);
    out.tree.layers = LayerRefs(result.state);
    out.hash = result.key;
    return out;
  }
  ResolvedImage image = env.images.Resolve(from, env.platform);
  out.tree.layers = LayerRefs(image.state);
  out.hash = FromImageKey(store::FormatPlatform(env.platform), image.manifest);
  return out;
}

std::string Target(const BuildEnv& env, const parser::Instruction& ins, const std::string& written,
                   const std::string& workdir) {
  std::string target = ResolveWorkdir(workdir, written);
  if (target == "/")
    FailAt(env, ins, "RUN --mount: invalid mount target \"" + written + "\": it resolves to /, which cannot be replaced");
  return target;
}

}  // namespace

PlannedMounts PlanRunMounts(BuildEnv& env, const parser::Stage& stage, const parser::Instruction& ins,
                            const parser::VarMap& vars, const ImageState& state) {
  PlannedMounts planned;
  const std::string& workdir = state.config.config.working_dir;
  parser::LexOptions lex;
  lex.escape = env.dockerfile.directives.escape;
  parser::ShellLexer lexer(lex);
  size_t ssh_index = 0;
  for (const std::string& spec : ins.FlagValues("mount")) {
    parser::RunMount m;
    try {
      m = parser::ParseRunMount(spec, [&](const std::string& value) {
        try {
          return lexer.ProcessWord(value, vars);
        } catch (const parser::ExpandError& e) {
          throw std::invalid_argument(e.what());
        }
      });
    } catch (const std::invalid_argument& e) {
      throw parser::ParseError({env.dockerfile_name, ins.line, ins.end_line, 0},
                               "RUN --mount=" + spec + ": " + e.what());
    }
    CheckMountSupported(env, ins, spec, m);
    StepMount mount;
    mount.read_only = m.read_only;
    mount.mode = m.mode;
    mount.uid = m.uid;
    mount.gid = m.gid;
    std::string hash;
    try {
      if (m.type == "bind") {
        mount.type = StepMount::Type::kBind;
        mount.target = Target(env, ins, m.target, workdir);
        Source source = m.from.empty() ? ContextSource(env, m.source, true)
                                       : StageOrImageSource(env, stage, m.from, m.source);
        mount.tree = std::move(source.tree);
        hash = m.from + ":" + mount.tree->path + " " + source.hash;
      } else if (m.type == "cache") {
        mount.type = StepMount::Type::kCache;
        mount.target = Target(env, ins, m.target, workdir);
        mount.cache_id = m.id.empty() ? mount.target : m.id;
        mount.sharing = m.sharing == "locked"    ? runner::CacheSharing::kLocked
                        : m.sharing == "private" ? runner::CacheSharing::kPrivate
                                                 : runner::CacheSharing::kShared;
        // With `from`, a new cache starts as `from`'s `source`; without, the
        // cache's own `source` part is mounted.
        if (m.from.empty()) {
          mount.cache_path = CleanRelative(m.source);
        } else {
          mount.tree = StageOrImageSource(env, stage, m.from, m.source).tree;
        }
      } else if (m.type == "tmpfs") {
        mount.type = StepMount::Type::kTmpfs;
        mount.target = Target(env, ins, m.target, workdir);
        mount.size = m.size.value_or(0);
      } else if (m.type == "secret") {
        mount.type = StepMount::Type::kSecret;
        // Without a target, a secret given as env is only that.
        if (!m.target.empty() || !m.env)
          mount.target = Target(env, ins, m.target.empty() ? std::string(kSecretsDir) + Basename(m.id) : m.target,
                                workdir);
      } else if (m.type == "ssh") {
        mount.type = StepMount::Type::kSsh;
        std::string target = m.target.empty() ? std::string(kAgentSocketPrefix) + std::to_string(ssh_index) : m.target;
        mount.target = Target(env, ins, target, workdir);
        ++ssh_index;
      }
    } catch (const Error& e) {
      FailAt(env, ins, "RUN --mount=" + spec + ": " + e.what());
    }
    planned.hashes["mount " + std::to_string(planned.mounts.size()) + " " + m.type + " " + mount.target] = hash;
    planned.mounts.push_back(std::move(mount));
    planned.specs.push_back(std::move(m));
  }
  return planned;
}

std::vector<std::string> ProvideSecrets(const BuildEnv& env, const parser::Instruction& ins, PlannedMounts& planned) {
  std::vector<std::string> added_env;
  bool agent_env_set = false;
  PlannedMounts kept;
  for (size_t i = 0; i < planned.mounts.size(); ++i) {
    StepMount& mount = planned.mounts[i];
    const parser::RunMount& spec = planned.specs[i];
    if (mount.type == StepMount::Type::kSecret) {
      auto it = env.options.secrets.find(spec.id);
      if (it == env.options.secrets.end()) {
        if (spec.required)
          FailAt(env, ins,
                 "RUN --mount=type=secret: the required secret \"" + spec.id +
                     "\" was not given; pass it with bld build --secret id=" + spec.id + ",src=FILE (or ,env=VAR)");
        continue;
      }
      if (spec.env) added_env.push_back(*spec.env + "=" + it->second);
      if (mount.target.empty()) continue;
      mount.secret = it->second;
    }
    if (mount.type == StepMount::Type::kSsh) {
      auto it = env.options.ssh_agents.find(spec.id);
      if (it == env.options.ssh_agents.end()) {
        if (spec.required)
          FailAt(env, ins,
                 "RUN --mount=type=ssh: the required ssh agent \"" + spec.id +
                     "\" was not given; pass it with bld build --ssh " + spec.id + "[=SOCKET|KEYFILE]");
        continue;
      }
      mount.agent_socket = it->second;
      if (!agent_env_set) added_env.push_back(std::string(kAgentSocketEnv) + "=" + mount.target);
      agent_env_set = true;
    }
    kept.mounts.push_back(std::move(mount));
    kept.specs.push_back(spec);
  }
  kept.hashes = std::move(planned.hashes);
  planned = std::move(kept);
  return added_env;
}

}  // namespace bld::builder
