#include "builder/container_runtime.h"

#include "runner/file_step.h"

namespace bld::builder {

runner::StepResult ContainerRuntime::Run(const runner::StepSpec& spec, const runner::OutputLines::LineCallback& on_line) {
  return runner::RunStep(store_, spec, on_line);
}

std::optional<store::LayerInfo> ContainerRuntime::ApplyFiles(const std::vector<runner::LayerRef>& layers,
                                                             const runner::FilePlan& plan,
                                                             const store::LayerWriteOptions& options) {
  return runner::RunFileStep(store_, layers, plan, options);
}

}  // namespace bld::builder
