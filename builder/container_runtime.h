// The StepRuntime bld builds with: RUN steps and file steps in the runner's
// containers, on the store's snapshots, their layers written to the store.
//
// Thread-safety: as the runner: calls from several threads at once.
#pragma once

#include "builder/build_backend.h"
#include "store/store.h"

namespace bld::builder {

class ContainerRuntime : public StepRuntime {
 public:
  explicit ContainerRuntime(store::Store& store) : store_(store) {}

  runner::StepResult Run(const runner::StepSpec& spec, const runner::OutputLines::LineCallback& on_line) override;
  std::optional<store::LayerInfo> ApplyFiles(const std::vector<runner::LayerRef>& layers, const runner::FilePlan& plan,
                                             const store::LayerWriteOptions& options) override;

 private:
  store::Store& store_;
};

}  // namespace bld::builder
