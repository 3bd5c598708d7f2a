// `bld build`: flags as docker build has them, progress on stderr, the image
// ID on stdout.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include "builder/builder.h"
#include "cli/build_caches.h"
#include "cli/build_outputs.h"
#include "cli/build_secrets.h"
#include "cli/commands.h"
#include "cli/error_report.h"
#include "cli/progress.h"
#include "cli/source_date_epoch.h"
#include "cli/store_lock.h"
#include "registry/image_lookup.h"
#include "registry/reference.h"
#include "registry/session.h"
#include "runner/interrupt.h"
#include "store/error.h"
#include "store/platform.h"

namespace bld::cli {

namespace {

struct BuildFlags {
  std::vector<std::string> tags;
  std::string file;
  std::vector<std::string> build_args;
  std::vector<std::string> labels;
  std::string target;
  bool no_cache = false;
  bool pull = false;
  bool push = false;
  std::vector<std::string> insecure;
  std::string network = "host";
  std::string progress = "auto";
  std::string iidfile;
  std::string format = "oci";
  bool quiet = false;
  bool explain = false;
  std::string compression = "gzip";
  std::string platform;
  std::vector<std::string> secrets;
  std::vector<std::string> ssh;
  std::vector<std::string> security_opts;
  std::vector<std::string> allow;
  std::vector<std::string> outputs;
  std::vector<std::string> cache_to;
  std::vector<std::string> cache_from;
  std::string context;
};

std::map<std::string, std::string> KeyValues(const std::vector<std::string>& items, bool from_env) {
  std::map<std::string, std::string> out;
  for (const std::string& kv : items) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      // `--build-arg NAME` takes the value from the environment, as docker does.
      if (from_env) {
        if (const char* v = std::getenv(kv.c_str())) out[kv] = v;
      } else {
        out[kv] = "";
      }
    } else {
      out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return out;
}

// --platform linux/amd64,linux/arm64: each normalized, each once.
std::vector<std::string> Platforms(const std::string& flag) {
  std::vector<std::string> platforms;
  if (flag.empty()) return platforms;
  size_t start = 0;
  while (true) {
    size_t comma = flag.find(',', start);
    std::string item = flag.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::string text;
    try {
      text = store::FormatPlatform(store::ParsePlatform(item));
    } catch (const Error& e) {
      throw Error("--platform " + flag + ": " + e.what());
    }
    if (std::find(platforms.begin(), platforms.end(), text) == platforms.end()) platforms.push_back(text);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return platforms;
}

// The outputs that can hold an image index: image, oci, and local (one
// directory per platform, as BuildKit writes it). A tar of one root
// filesystem or a docker archive cannot say which platform is which.
void CheckMultiPlatformOutputs(const std::string& flag, const std::vector<builder::BuildOutput>& outputs) {
  for (const builder::BuildOutput& output : outputs) {
    if (output.type != builder::OutputType::kTar && output.type != builder::OutputType::kDocker) continue;
    throw Error("--output type=" + std::string(builder::OutputTypeName(output.type)) +
                " holds one platform's image, and --platform " + flag +
                " builds several: use type=oci, type=local (a directory per platform) or type=image, or build one "
                "platform");
  }
}

// The builder's options from the flags, each value checked: one bld does
// not implement is refused, never ignored. The names of type=image outputs
// are -t names too.
builder::BuildOptions OptionsFrom(const BuildFlags& f, const std::vector<builder::BuildOutput>& outputs) {
  builder::BuildOptions o;
  for (const std::string& t : f.tags) {
    registry::CanonicalRefName(t);  // refuse a bad name before building
    o.tags.push_back(t);
  }
  for (const std::string& name : ImageOutputNames(outputs)) o.tags.push_back(name);
  o.build_args = KeyValues(f.build_args, true);
  o.labels = KeyValues(f.labels, false);
  o.target = f.target;
  o.no_cache = f.no_cache;
  o.pull = f.pull;
  o.registry = RegistryOptionsFrom(f.insecure);
  if (f.push && o.tags.empty()) throw Error("--push needs a name to push: add -t NAME[:TAG]");
  o.platforms = Platforms(f.platform);
  if (o.platforms.size() > 1) CheckMultiPlatformOutputs(f.platform, outputs);
  const char* explain_env = std::getenv("BLD_EXPLAIN");
  o.explain = f.explain || (explain_env && std::string(explain_env) == "1");
  if (f.network == "none") {
    o.network = runner::NetworkMode::kNone;
  } else if (f.network != "host" && f.network != "default") {
    throw Error("--network " + f.network + ": a build runs with host (the default) or none");
  }
  if (f.format == "docker") {
    o.oci_format = false;
  } else if (f.format != "oci") {
    throw Error("--format " + f.format + ": use oci or docker");
  }
  if (f.compression == "zstd") {
    o.compression = store::Compression::kZstd;
  } else if (f.compression == "none") {
    o.compression = store::Compression::kNone;
  } else if (f.compression != "gzip") {
    throw Error("--compression " + f.compression + ": use gzip, zstd or none");
  }
  o.source_date_epoch = SourceDateEpoch(o.build_args);
  for (const std::string& opt : f.security_opts) runner::ApplySecurityOpt(o.run_security, opt);
  return o;
}

// Where the Dockerfile and the context come from: files, or stdin.
void SetSources(const BuildFlags& f, builder::BuildOptions& o) {
  if (f.file == "-" && f.context == "-") throw Error("the Dockerfile and the context cannot both come from stdin");
  if (f.file == "-") {
    o.dockerfile_text = std::string(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    o.dockerfile_path = f.file;
  }
  if (f.context == "-") {
    o.context_tar_fd = STDIN_FILENO;
  } else {
    o.context_dir = f.context;
  }
}

// --allow: the entitlements RUN steps may ask for.
void SetEntitlements(const BuildFlags& f, builder::BuildOptions& o) {
  for (const std::string& entitlement : f.allow) {
    if (entitlement == "security.insecure") {
      o.allow_insecure = true;
    } else if (entitlement != "network.host") {
      throw Error("--allow " + entitlement + ": use security.insecure or network.host");
    }
  }
}

// Runs the build with its progress shown. A Dockerfile error, a failed step
// or an interrupt is reported here and its exit code returned; nullopt
// with `result` set when the build succeeded.
std::optional<int> RunReported(store::Store& store, const BuildFlags& f, const builder::BuildOptions& o,
                               const builder::BuildInput& input, builder::BuildResult& result) {
  std::unique_ptr<ProgressRenderer> progress = MakeProgressRenderer(f.quiet ? "quiet" : f.progress);
  const std::string* source_text = &input.dockerfile_text;
  try {
    result = builder::Build(store, o, input, [&](const builder::BuildEvent& e) { progress->OnEvent(e); });
  } catch (const parser::ParseError& e) {
    progress->Finish(false);
    PrintParseError(e, source_text);
    return 1;
  } catch (const builder::BuildError& e) {
    progress->Finish(false);
    if (!e.output_tail().empty()) {
      std::fprintf(stderr, "------\n");
      for (const std::string& line : e.output_tail()) std::fprintf(stderr, " > %s\n", line.c_str());
      std::fprintf(stderr, "------\n");
    }
    PrintLocatedError(e.where(), e.what(), source_text);
    return 1;
  } catch (const runner::Interrupted& e) {
    progress->Finish(false);
    std::fprintf(stderr, "build interrupted\n");
    return e.exit_code();
  } catch (...) {
    progress->Finish(false);
    throw;
  }
  progress->Finish(true);
  return std::nullopt;
}

// What --push and type=image,push=true outputs push, each name once.
std::vector<std::string> PushNames(const BuildFlags& f, const builder::BuildOptions& o,
                                   const std::vector<builder::BuildOutput>& outputs) {
  std::vector<std::string> names = f.push ? o.tags : std::vector<std::string>{};
  for (const std::string& name : OutputPushNames(outputs, f.tags))
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

// After a successful build: the -o outputs, the pushes, the image ID.
void Publish(store::Store& store, const BuildFlags& f, const builder::BuildOptions& o,
             const std::vector<builder::BuildOutput>& outputs, const builder::BuildResult& result) {
  if (!f.quiet) {
    std::fprintf(stderr, "writing image %s\n", result.image_id.str().c_str());
    for (const std::string& t : o.tags)
      std::fprintf(stderr, "naming to %s\n", registry::CanonicalRefName(t).c_str());
  }
  WriteOutputs(store, outputs, result.manifest, f.tags, o.source_date_epoch, f.quiet);
  // Pushed before the image ID is printed, so that a script reading the
  // ID knows the image is in the registry; push output goes to stderr to
  // keep stdout for the ID.
  for (const std::string& name : PushNames(f, o, outputs)) PushImage(store, name, f.insecure, f.quiet, stderr);
  // An output on stdout owns it.
  if (!WritesStdout(outputs)) std::printf("%s\n", result.image_id.str().c_str());
  if (!f.iidfile.empty()) {
    std::ofstream out(f.iidfile, std::ios::trunc);
    out << result.image_id.str();
    if (!out) throw SysError("cannot write --iidfile " + f.iidfile);
  }
}

int RunBuild(const CommandContext& ctx, const BuildFlags& f) {
  std::vector<builder::BuildOutput> outputs = ParseOutputs(f.outputs);
  builder::BuildOptions o = OptionsFrom(f, outputs);
  // A push without a name is refused before the build. What a push or an
  // archive output will read is compressed while the build goes on; else
  // the image's new layers stay lazy until a push or save needs them.
  std::vector<std::string> pushes = PushNames(f, o, outputs);
  bool archives = std::any_of(outputs.begin(), outputs.end(),
                              [](const builder::BuildOutput& out) { return out.type != builder::OutputType::kImage; });
  o.complete_image = !pushes.empty() || archives;
  // Nothing but the pushes reads the final image's layers: those already in
  // a registry pushed to stay there, and the push mounts them.
  if (!archives) {
    for (const std::string& name : pushes)
      o.remote_layers_at.push_back(registry::RegistryApiHost(registry::Reference::ParseDockerRef(name).domain()));
  }
  SetSources(f, o);
  SetEntitlements(f, o);
  SetCacheSpecs(f.cache_to, f.cache_from, o);
  // Refused, not half done: one platform's records would be exported or
  // inline cache read for one entry of the index.
  if (o.platforms.size() > 1 && (!o.cache_to.empty() || !o.cache_from.empty()))
    throw Error("--cache-to and --cache-from are not supported with several platforms (--platform " + f.platform +
                ") yet: build each platform with its own bld build --platform P and its own cache");
  o.secrets = ReadSecrets(f.secrets);
  std::unique_ptr<store::Store> store = OpenStore(ctx);
  store::GcLock gc_lock = LockStoreShared(*store);
  SshAgents agents(f.ssh, store->tmp_dir());
  o.ssh_agents = agents.sockets();
  // Ctrl-C stops a step cleanly while the build runs; once it is done it
  // stops the outputs and pushes at once, as it stops bld save and bld push.
  auto interrupts = std::make_optional<runner::InterruptScope>();
  // Loaded once: the builder builds from it and errors show its lines.
  builder::BuildInput input = builder::LoadBuildInput(o, store->tmp_dir());
  builder::BuildResult result;
  if (std::optional<int> failed = RunReported(*store, f, o, input, result)) return *failed;
  interrupts.reset();
  Publish(*store, f, o, outputs, result);
  return 0;
}

}  // namespace

void AddBuildCommand(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<BuildFlags>();
  auto* cmd = app.add_subcommand("build", "Build an image from a Dockerfile");
  cmd->add_option("-t,--tag", f->tags, "Name and optionally a tag (name:tag); repeatable");
  cmd->add_option("-f,--file", f->file, "Dockerfile (default: CONTEXT/Dockerfile; - for stdin)");
  cmd->add_option("--build-arg", f->build_args, "Build-time variable K=V; repeatable");
  cmd->add_option("--label", f->labels, "Image label K=V; repeatable");
  cmd->add_option("--target", f->target, "Stage to build");
  cmd->add_flag("--no-cache", f->no_cache, "Do not use the build cache");
  cmd->add_flag("--pull", f->pull, "Pull the base images again");
  cmd->add_flag("--push", f->push, "Push every -t name to its registry after the build");
  cmd->add_option("--insecure-registry", f->insecure, "Allow plain HTTP or unverified TLS for this registry");
  cmd->add_option("--network", f->network, "Network for RUN: host (default) or none");
  cmd->add_option("--progress", f->progress, "auto, tty, plain, quiet or json");
  cmd->add_option("--iidfile", f->iidfile, "Write the image ID to this file");
  cmd->add_option("--format", f->format, "Manifest format: oci (default) or docker");
  cmd->add_flag("-q,--quiet", f->quiet, "Print only the image ID");
  cmd->add_flag("--explain", f->explain, "Say why each step missed the cache (also BLD_EXPLAIN=1)");
  cmd->add_option("--compression", f->compression, "Layer compression: gzip (default), zstd or none");
  cmd->add_option("--platform", f->platform,
                  "Target platforms, comma-separated (os/arch[/variant]): several make an image index");
  cmd->add_option("--secret", f->secrets,
                  "Secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR; repeatable");
  cmd->add_option("--ssh", f->ssh,
                  "Agent for RUN --mount=type=ssh: ID (SSH_AUTH_SOCK), ID=SOCKET or ID=KEYFILE[,KEYFILE]; repeatable");
  cmd->add_option("--security-opt", f->security_opts,
                  "For RUN: no-new-privileges, seccomp=unconfined|PROFILE.json, systempaths=unconfined");
  cmd->add_option("--allow", f->allow,
                  "Entitlement: security.insecure (RUN --security=insecure runs privileged) or network.host "
                  "(RUN --network=host, always allowed); repeatable");
  cmd->add_option("-o,--output", f->outputs,
                  "Export the result: DIR, -, or type=local,dest=DIR | type=tar,dest=FILE|- | "
                  "type=oci,dest=FILE|-[,tar=false][,name=REF] | type=docker,dest=FILE|-[,name=REF] | "
                  "type=image[,name=REF][,push=true]; repeatable");
  cmd->add_option("--cache-to", f->cache_to,
                  "Export the build cache: type=registry,ref=REF | type=local,dest=DIR [,mode=min|max]"
                  "[,compression=gzip|zstd|uncompressed][,ignore-error=true] | type=inline; repeatable");
  cmd->add_option("--cache-from", f->cache_from,
                  "Import a build cache: REF | type=registry,ref=REF | type=local,src=DIR; repeatable");
  cmd->add_option("context", f->context, "Build context: a directory, or - for a tar on stdin")->required();
  cmd->callback([&ctx, f] { RunCommand(ctx, [&ctx, f] { return RunBuild(ctx, *f); }); });
}

}  // namespace bld::cli
