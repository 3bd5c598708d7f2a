#include "builder/builder.h"

#include <algorithm>
#include <set>
#include <thread>

#include "builder/build_cache.h"
#include "builder/cache_exchange.h"
#include "builder/container_runtime.h"
#include "builder/image_source.h"
#include "builder/image_writer.h"
#include "builder/layer_blobs.h"
#include "builder/run_step.h"
#include "builder/stage_builder.h"
#include "builder/stat_cache.h"
#include "builder/step_executor.h"
#include "parser/dockerfile.h"
#include "store/image.h"
#include "store/platform.h"

namespace bld::builder {

namespace {

parser::Dockerfile Parse(const BuildOptions& options, const BuildInput& input) {
  parser::ParseOptions po;
  po.file_name = input.dockerfile_name;
  po.target = options.target;
  po.build_args = options.build_args;
  po.platform = options.platform;
  return parser::ParseDockerfile(input.dockerfile_text, po);
}

std::vector<StageNode> NeededStages(const parser::Dockerfile& df) {
  std::vector<StageNode> nodes;
  for (const parser::Stage& s : df.stages)
    if (s.needed) nodes.push_back({s.index, s.depends_on});
  return nodes;
}

int Parallelism(const BuildOptions& options) {
  if (options.parallelism > 0) return options.parallelism;
  return static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
}

}  // namespace

BuildResult Build(store::Store& store, const BuildOptions& options, const BuildInput& input,
                  const EventSink& sink) {
  parser::Dockerfile df = Parse(options, input);
  BuildEvents events(sink);
  for (const parser::Warning& w : df.warnings)
    events.Warning(input.dockerfile_name + ":" + std::to_string(w.line) + ": " + w.message);
  CheckRunEntitlements(df, input.dockerfile_name, options);

  StatCache stat_cache(store.meta());
  BuildCache cache(store);
  StoreImageSource images(store, options.registry, options.pull);
  ContainerRuntime runtime(store);
  Cancellation cancel;
  StageResults results(df.stages.size());
  BuildCounters counters;
  store::Platform platform = options.platform.empty() ? store::HostPlatform() : store::ParsePlatform(options.platform);
  CacheExchange exchange(store, options, cache, runtime, events, platform);
  BuildEnv env{options,         df,      input.dockerfile_name, *input.context, stat_cache,
               images,          exchange.runtime(), exchange.cache(), events, cancel,
               results,         counters, platform, store.tmp_dir(),
               [] { return std::chrono::system_clock::now(); }, nullptr};

  // The layers of the stages the image is made of get their blobs while the
  // build goes on; other stages' layers stay snapshots (layer_blobs.h).
  std::set<int> image_stages;
  for (int s = df.target; s >= 0; s = df.stages[s].base_stage) image_stages.insert(s);
  LayerBlobs blobs(store, LayerOptions(env), Parallelism(options));
  env.layer_added = [&](int stage, const ImageState& state) {
    if (image_stages.count(stage)) blobs.Start(LayerChainIds(state).back(), state.config.rootfs.diff_ids.back());
  };

  try {
    RunStages(NeededStages(df), Parallelism(options), cancel,
              [&](int index) { results.Set(index, BuildStage(env, df.stages[index])); });
  } catch (...) {
    // What the steps that ran found out stays useful: the next build hits.
    stat_cache.Flush();
    cache.Flush();
    throw;
  }
  stat_cache.Flush();
  cache.Flush();

  ImageWriteOptions write;
  write.tags = options.tags;
  write.labels = options.labels;
  write.platform = platform;
  write.oci_format = options.oci_format;
  write.created_fallback = HistoryTime(env);
  ImageState target = results.Get(df.target).state;
  exchange.FetchImageLayers(target);
  target.layers = blobs.Materialize(target);
  exchange.AddInlineLabel(target, target.layers, write.labels);
  WrittenImage image = WriteBuiltImage(store, target, write);
  exchange.Export({target}, blobs, Parallelism(options));
  BuildResult result;
  result.image_id = image.image_id;
  result.manifest = image.manifest;
  result.steps = counters.steps;
  result.cached_steps = counters.cached;
  result.executed_steps = counters.executed;
  return result;
}

BuildResult Build(store::Store& store, const BuildOptions& options, const EventSink& events) {
  BuildInput input = LoadBuildInput(options, store.tmp_dir());
  return Build(store, options, input, events);
}

}  // namespace bld::builder
