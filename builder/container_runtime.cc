#include "builder/container_runtime.h"

#include "builder/lazy_images.h"
#include "runner/file_step.h"

namespace bld::builder {

runner::StepResult ContainerRuntime::Run(const runner::StepSpec& spec, const runner::OutputLines::LineCallback& on_line) {
  Fetch(spec.layers);
  for (const runner::StepMount& mount : spec.mounts)
    if (mount.tree) Fetch(mount.tree->layers);
  return runner::RunStep(store_, spec, on_line);
}

std::optional<store::LayerInfo> ContainerRuntime::ApplyFiles(const std::vector<runner::LayerRef>& layers,
                                                             const runner::FilePlan& plan,
                                                             const store::LayerWriteOptions& options) {
  Fetch(layers);
  Fetch(plan.source_layers);
  return runner::RunFileStep(store_, layers, plan, options);
}

void ContainerRuntime::Fetch(const std::vector<runner::LayerRef>& layers) {
  FetchRemoteLayers(store_, layers, registry_, &fetch_mu_);
}

}  // namespace bld::builder
