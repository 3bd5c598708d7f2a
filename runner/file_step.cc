#include "runner/file_step.h"

#include "runner/container.h"
#include "runner/interrupt.h"
#include "runner/upper_dir_layer.h"

namespace bld::runner {

namespace {

// A file step prints nothing; what it would print is kept for an error.
constexpr size_t kOutputTailLines = 10;

}  // namespace

std::optional<store::LayerInfo> RunFileStep(store::Store& store, const std::vector<LayerRef>& layers,
                                            const FilePlan& plan, const store::LayerWriteOptions& options) {
  InterruptScope interrupt_scope;
  ThrowIfInterrupted();
  Snapshotter snapshotter(store);
  ContainerSpec spec;
  spec.lowerdirs = snapshotter.Prepare(layers);
  if (!plan.source_layers.empty()) spec.source_lowerdirs = snapshotter.Prepare(plan.source_layers);
  spec.files = plan;
  std::unique_ptr<Container> container = Container::Start(store.containers_dir(), spec);
  OutputLines output(nullptr, kOutputTailLines);
  ExitStatus status = container->Wait(output);
  if (!status.ok()) {
    std::string what = "file step: the copy process ended with " + status.Describe();
    for (const std::string& line : output.Tail()) what += "\n" + line;
    throw Error(what);
  }
  std::optional<store::LayerInfo> layer = PromoteUpperDir(store, layers, container->upper_dir(), options);
  ThrowIfInterrupted();
  return layer;
}

}  // namespace bld::runner
