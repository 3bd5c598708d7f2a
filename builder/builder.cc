#include "builder/builder.h"

#include <algorithm>
#include <memory>
#include <set>
#include <thread>

#include "builder/build_cache.h"
#include "builder/cache_exchange.h"
#include "builder/container_runtime.h"
#include "builder/image_source.h"
#include "builder/image_writer.h"
#include "builder/layer_blobs.h"
#include "builder/lazy_images.h"
#include "builder/run_step.h"
#include "builder/stage_builder.h"
#include "builder/stat_cache.h"
#include "builder/step_executor.h"
#include "builder/step_flights.h"
#include "parser/dockerfile.h"
#include "store/image.h"
#include "store/platform.h"

namespace bld::builder {

namespace {

parser::Dockerfile Parse(const BuildOptions& options, const BuildInput& input, const store::Platform& platform) {
  parser::ParseOptions po;
  po.file_name = input.dockerfile_name;
  po.target = options.target;
  po.build_args = options.build_args;
  po.platform = store::FormatPlatform(platform);
  return parser::ParseDockerfile(input.dockerfile_text, po);
}

int Parallelism(const BuildOptions& options) {
  if (options.parallelism > 0) return options.parallelism;
  return static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
}

// The CLI gives each platform once (cli/build_command.cc); two entries for
// one platform would be refused by WriteIndex.
std::vector<store::Platform> TargetPlatforms(const BuildOptions& options) {
  std::vector<store::Platform> platforms;
  for (const std::string& text : options.platforms) platforms.push_back(store::ParsePlatform(text));
  if (platforms.empty()) platforms.push_back(store::HostPlatform());
  return platforms;
}

// What every graph of one build shares.
struct SharedParts {
  const BuildOptions& options;
  const BuildInput& input;
  StatCache& stat_cache;
  StoreImageSource& images;
  StepRuntime& runtime;
  StepCache& cache;
  BuildEvents& events;
  Cancellation& cancel;
  BuildCounters& counters;
  LayerBlobs& blobs;
  StepFlights* flights;
  std::string scratch_dir;
  bool complete_image;  // the image's layer blobs are written (BuildOptions::complete_image)
};

// One platform's graph of stages: its own parse of the Dockerfile (the
// TARGET* args differ) and its own stage results.
class PlatformGraph {
 public:
  PlatformGraph(SharedParts& shared, store::Platform platform, bool several)
      : platform_(std::move(platform)),
        df_(Parse(shared.options, shared.input, platform_)),
        results_(df_.stages.size()),
        env_{shared.options, df_,           shared.input.dockerfile_name, *shared.input.context,
             shared.stat_cache, shared.images, shared.runtime, shared.cache, shared.events, shared.cancel,
             results_,          shared.counters, platform_, shared.scratch_dir,
             [] { return std::chrono::system_clock::now(); }, nullptr, shared.flights,
             several ? store::FormatPlatform(platform_) + " " : ""} {
    // The layers of the stages the image is made of get their blobs while
    // the build goes on; other stages' layers stay snapshots (layer_blobs.h).
    for (int s = df_.target; s >= 0; s = df_.stages[s].base_stage) image_stages_.insert(s);
    LayerBlobs& blobs = shared.blobs;
    if (shared.complete_image)
      env_.layer_added = [this, &blobs](int stage, const ImageState& state) {
        if (image_stages_.count(stage)) blobs.Start(LayerChainIds(state).back(), state.config.rootfs.diff_ids.back());
      };
  }

  const parser::Dockerfile& dockerfile() const { return df_; }
  const store::Platform& platform() const { return platform_; }
  BuildEnv& env() { return env_; }
  std::vector<StageNode> NeededStages(int offset) const {
    std::vector<StageNode> nodes;
    for (const parser::Stage& s : df_.stages) {
      if (!s.needed) continue;
      StageNode node{s.index + offset, {}};
      for (int d : s.depends_on) node.depends_on.push_back(d + offset);
      nodes.push_back(std::move(node));
    }
    return nodes;
  }
  void BuildStage(int index) { results_.Set(index, builder::BuildStage(env_, df_.stages[index])); }
  ImageState Target() const { return results_.Get(df_.target).state; }

 private:
  store::Platform platform_;
  parser::Dockerfile df_;
  StageResults results_;
  BuildEnv env_;
  std::set<int> image_stages_;
};

// Runs every graph's stages as one DAG, so that the platforms of a build
// run in parallel and the first failure anywhere cancels the rest.
void RunGraphs(std::vector<std::unique_ptr<PlatformGraph>>& graphs, const BuildOptions& options, Cancellation& cancel) {
  std::vector<StageNode> nodes;
  std::vector<std::pair<PlatformGraph*, int>> owner;  // node index -> graph, stage
  for (auto& g : graphs) {
    int offset = static_cast<int>(owner.size());
    for (size_t s = 0; s < g->dockerfile().stages.size(); ++s) owner.emplace_back(g.get(), static_cast<int>(s));
    for (StageNode& n : g->NeededStages(offset)) nodes.push_back(std::move(n));
  }
  RunStages(nodes, Parallelism(options), cancel, [&](int node) { owner[node].first->BuildStage(owner[node].second); });
}

BuildResult Result(const WrittenImage& image, const BuildCounters& counters) {
  BuildResult result;
  result.image_id = image.image_id;
  result.manifest = image.manifest;
  result.steps = counters.steps;
  result.cached_steps = counters.cached;
  result.executed_steps = counters.executed;
  return result;
}

}  // namespace

BuildResult Build(store::Store& store, const BuildOptions& options, const BuildInput& input,
                  const EventSink& sink) {
  BuildEvents events(sink);
  StatCache stat_cache(store.meta());
  BuildCache cache(store);
  StoreImageSource images(store, options.registry, options.pull, !options.cache_from.empty());
  ContainerRuntime runtime(store, options.registry);
  Cancellation cancel;
  BuildCounters counters;
  std::vector<store::Platform> platforms = TargetPlatforms(options);
  // --cache-from/--cache-to: the CLI refuses them with several platforms.
  CacheExchange exchange(store, options, cache, runtime, events, platforms.front());
  LayerBlobs blobs(store, LayerOptions(options), Parallelism(options));
  StepFlights flights;
  bool complete = options.complete_image || platforms.size() > 1 || !options.cache_to.empty();
  SharedParts shared{options,  input,  stat_cache, images, exchange.runtime(), exchange.cache(),
                     events,   cancel, counters,   blobs,  platforms.size() > 1 ? &flights : nullptr,
                     store.tmp_dir(), complete};
  std::vector<std::unique_ptr<PlatformGraph>> graphs;
  for (const store::Platform& p : platforms)
    graphs.push_back(std::make_unique<PlatformGraph>(shared, p, platforms.size() > 1));
  // The Dockerfile is the same for every platform: its warnings once.
  for (const parser::Warning& w : graphs.front()->dockerfile().warnings)
    events.Warning(input.dockerfile_name + ":" + std::to_string(w.line) + ": " + w.message);
  for (auto& g : graphs) CheckRunEntitlements(g->dockerfile(), input.dockerfile_name, options);

  try {
    RunGraphs(graphs, options, cancel);
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
  write.platform = platforms.front();
  write.oci_format = options.oci_format;
  write.created_fallback = HistoryTime(graphs.front()->env());
  std::vector<PlatformImage> built;
  for (auto& g : graphs) {
    ImageState target = g->Target();
    exchange.FetchImageLayers(target);
    FetchRemoteLayers(store, target.layers, options.registry, options.remote_layers_at);
    target.layers = complete ? blobs.Materialize(target) : blobs.LazyLayers(target);
    built.push_back({g->platform(), std::move(target)});
  }
  if (built.size() > 1) {
    WrittenImage index = WriteBuiltIndex(store, built, write);
    return Result(index, counters);
  }
  const ImageState& target = built.front().state;
  exchange.AddInlineLabel(target, target.layers, write.labels);
  WrittenImage image = WriteBuiltImage(store, target, write);
  exchange.Export({target}, blobs, Parallelism(options));
  return Result(image, counters);
}

BuildResult Build(store::Store& store, const BuildOptions& options, const EventSink& events) {
  BuildInput input = LoadBuildInput(options, store.tmp_dir());
  return Build(store, options, input, events);
}

}  // namespace bld::builder
