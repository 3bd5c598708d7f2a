#include "builder_fakes.h"

#include "builder/run_step.h"
#include "store/error.h"
#include "store/image.h"
#include "store/layer_writer.h"

namespace bld::testing {

store::LayerInfo FakeLayer(const std::string& name) {
  store::LayerInfo layer;
  layer.diff_id = store::Sha256::Of("diff " + name);
  layer.digest = store::Sha256::Of("blob " + name);
  layer.compressed_size = name.size();
  layer.uncompressed_size = name.size();
  layer.media_type = std::string(store::kMediaTypeLayerGzip);
  return layer;
}

builder::ResolvedImage FakeImage(const std::string& name, store::ContainerConfig config) {
  builder::ResolvedImage image;
  store::LayerInfo layer = FakeLayer("base " + name);
  image.state.layers.push_back(store::LayerDescriptor(layer));
  image.state.config.rootfs.diff_ids.push_back(layer.diff_id);
  image.state.config.architecture = "amd64";
  image.state.config.os = "linux";
  image.state.config.config = std::move(config);
  image.manifest = store::Sha256::Of("manifest " + name);
  image.shown = "docker.io/library/" + name + ":latest@" + image.manifest.str();
  return image;
}

builder::ResolvedImage FakeImages::Resolve(const std::string& name, const store::Platform&) {
  resolved.push_back(name);
  auto it = images.find(name);
  if (it == images.end()) throw Error("no image " + name + " in the fake source");
  return it->second;
}

runner::StepResult FakeRuntime::Run(const runner::StepSpec& spec, const runner::OutputLines::LineCallback& on_line) {
  {
    std::lock_guard lock(mu_);
    runs.push_back(spec);
  }
  if (on_run) return on_run(spec, on_line);
  runner::StepResult r;
  std::string command;
  for (const std::string& a : spec.run.argv) command += a + " ";
  r.layer = FakeLayer("run " + command);
  return r;
}

std::optional<store::LayerInfo> FakeRuntime::ApplyFiles(const std::vector<runner::LayerRef>& layers,
                                                        const runner::FilePlan& plan,
                                                        const store::LayerWriteOptions&) {
  std::lock_guard lock(mu_);
  file_steps.push_back({layers, plan});
  return FakeLayer("files " + std::to_string(file_steps.size()));
}

std::optional<builder::ImageState> FakeCache::Get(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = records.find(key);
  if (it == records.end()) return std::nullopt;
  return it->second;
}

void FakeCache::Put(const std::string& key, const builder::ImageState& state) {
  std::lock_guard lock(mu_);
  records[key] = state;
}

std::optional<builder::StepInputs> FakeCache::LastInputs(const std::string& identity) const {
  std::lock_guard lock(mu_);
  auto it = inputs.find(identity);
  if (it == inputs.end()) return std::nullopt;
  return it->second;
}

void FakeCache::RememberInputs(const std::string& identity, const builder::StepInputs& in) {
  std::lock_guard lock(mu_);
  inputs[identity] = in;
}

FakeBuild::FakeBuild() : store_(store::Store::Open(root_.path())) {}
FakeBuild::~FakeBuild() = default;

void FakeBuild::Context(const std::string& rel, const std::string& content) { WriteFile(context_ / rel, content); }

builder::StageResult FakeBuild::Run(const std::string& dockerfile) {
  events.clear();
  parser::ParseOptions po;
  po.target = options.target;
  po.build_args = options.build_args;
  parser::Dockerfile df = parser::ParseDockerfile(dockerfile, po);
  // As builder::Build: entitlements are checked before any stage runs.
  builder::CheckRunEntitlements(df, "Dockerfile", options);
  std::unique_ptr<builder::BuildContext> context = builder::BuildContext::FromDirectory(context_.path(), "");
  builder::StatCache stat_cache(store_->meta());
  builder::Cancellation cancel;
  int started = 0;
  builder::BuildEvents sink([&](const builder::BuildEvent& e) {
    events.push_back(e);
    if (e.type == builder::BuildEvent::Type::kStepStarted && ++started == cancel_after_steps) cancel.Cancel();
  });
  builder::StageResults results(df.stages.size());
  builder::BuildCounters counters;
  std::string name = "Dockerfile";
  builder::BuildEnv env{options, df,    name,    *context, stat_cache,          images,         runtime,
                        cache,   sink,  cancel,  results,  counters,            store::HostPlatform(),
                        store_->tmp_dir(), [this] { return now; }, nullptr, nullptr, ""};
  for (const parser::Stage& s : df.stages)
    if (s.needed) results.Set(s.index, builder::BuildStage(env, s));
  executed = counters.executed;
  cached = counters.cached;
  return results.Get(df.target);
}

}  // namespace bld::testing
