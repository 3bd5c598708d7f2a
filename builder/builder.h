// bld build: a Dockerfile and its context -> an image in the store.
//
// The flow (docs/design.md), one part per file:
//   build_input.h     load the context and the Dockerfile
//   parser/           parse it; plan the stages the target needs
//   stage_scheduler.h run the stages as a DAG, in parallel where possible
//   stage_builder.h   per stage, per step: key (cache_key.h) -> lookup ->
//                     hit: reuse; miss: execute (step_executor.h) -> record
//   image_writer.h    write the final config and manifest, refs last
//   build_events.h    what the user sees meanwhile
// The store, registry and runner are reached through build_backend.h.
//
// Stages that do not depend on each other run in parallel, one thread each,
// at most `parallelism` at a time; the first failure stops the others (a
// RUN in progress is killed, other steps stop before the next one) and is
// the one reported.
//
// Thread-safety: one Build call per Builder at a time; the store may be
// shared with other builds and processes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_events.h"
#include "builder/build_input.h"
#include "builder/cache_spec.h"
#include "parser/parse_error.h"
#include "registry/session.h"
#include "runner/container_security.h"
#include "runner/network.h"
#include "store/compression.h"
#include "store/oci.h"
#include "store/store.h"

namespace bld::builder {

struct BuildOptions {
  std::string context_dir;      // a directory; empty when context_tar_fd is set
  int context_tar_fd = -1;      // a context tar (bld build - < ctx.tar)
  std::string dockerfile_path;  // empty: <context>/Dockerfile
  std::optional<std::string> dockerfile_text;  // -f -: the Dockerfile's text
  std::vector<std::string> tags;
  std::map<std::string, std::string> build_args;
  std::map<std::string, std::string> labels;
  std::string target;
  // The target platforms, each once: none means the host's; several make an
  // image index, one image per platform, built in parallel (steps the
  // platforms share run once).
  std::vector<std::string> platforms;
  bool no_cache = false;
  // Pull every base image again (FROM, COPY --from=<image>) instead of using
  // the local copy; a base that is not local is pulled either way.
  bool pull = false;
  registry::RegistryOptions registry;  // for those pulls
  bool explain = false;
  bool oci_format = true;  // false: Docker schema 2 media types
  runner::NetworkMode network = runner::NetworkMode::kHost;
  // What RUN steps may do (`--security-opt`): Docker's sandbox by default.
  runner::ContainerSecurity run_security;
  // `--allow security.insecure`: RUN --security=insecure may run privileged.
  bool allow_insecure = false;
  store::Compression compression = store::Compression::kGzip;
  // Write the blobs of the image's new layers during the build, as a push,
  // an archive output or a cache export needs them. Otherwise they stay
  // lazy (store/lazy_layer.h) and the first push or save writes them: a
  // build no push waits for never compresses. Builds for several platforms
  // and builds with --cache-to always write them.
  bool complete_image = false;
  // The registries (API hosts, registry::RegistryApiHost) the image is
  // pushed to, when nothing else reads its layers' bytes: a layer of the
  // final image that is in one of them (a --cache-from import found it
  // there, or a base was pulled from there without its layers) is not
  // downloaded; the image names it as a remote layer
  // (registry/remote_blobs.h), and the push mounts it.
  std::vector<std::string> remote_layers_at;
  std::optional<int64_t> source_date_epoch;
  int parallelism = 0;  // 0: one per CPU, at least 2
  // RUN --mount=type=secret values by id (bld build --secret): never written
  // to a layer, the history, a cache key or any output.
  std::map<std::string, std::string> secrets;
  // RUN --mount=type=ssh agent sockets by id (bld build --ssh).
  std::map<std::string, std::string> ssh_agents;
  // --cache-from and --cache-to (cache_exchange.h).
  std::vector<CacheSpec> cache_from;
  std::vector<CacheSpec> cache_to;
};

struct BuildResult {
  store::Digest image_id;         // the config digest
  store::Descriptor manifest;     // what the tags point at
  int steps = 0;
  int cached_steps = 0;
  int executed_steps = 0;         // steps that ran a container or wrote files
};

// A failed step: the instruction's location, what failed and the last lines
// of its output.
class BuildError : public std::runtime_error {
 public:
  BuildError(parser::SourceLocation where, const std::string& message, std::vector<std::string> output_tail = {})
      : std::runtime_error(message), where_(std::move(where)), output_tail_(std::move(output_tail)) {}
  const parser::SourceLocation& where() const { return where_; }
  const std::vector<std::string>& output_tail() const { return output_tail_; }

 private:
  parser::SourceLocation where_;
  std::vector<std::string> output_tail_;
};

// Builds from an input LoadBuildInput made for `options`. Throws
// parser::ParseError for Dockerfile errors, BuildError for a failing step,
// runner::Interrupted on Ctrl-C, bld::Error for anything else.
BuildResult Build(store::Store& store, const BuildOptions& options, const BuildInput& input,
                  const EventSink& events);
// The same, loading the input first.
BuildResult Build(store::Store& store, const BuildOptions& options, const EventSink& events);

}  // namespace bld::builder
