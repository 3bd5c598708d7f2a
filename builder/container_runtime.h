// The StepRuntime bld builds with: RUN steps and file steps in the runner's
// containers, on the store's snapshots, their layers written to the store.
// Remote layers a step runs on or reads (a base pulled without its layers,
// an image a push-only build left at the registry: lazy_images.h) are
// fetched first, and unpacked as they arrive.
//
// Thread-safety: as the runner: calls from several threads at once.
#pragma once

#include <mutex>
#include <vector>

#include "builder/build_backend.h"
#include "registry/session.h"
#include "store/store.h"

namespace bld::builder {

class ContainerRuntime : public StepRuntime {
 public:
  ContainerRuntime(store::Store& store, const registry::RegistryOptions& registry)
      : store_(store), registry_(registry) {}

  runner::StepResult Run(const runner::StepSpec& spec, const runner::OutputLines::LineCallback& on_line) override;
  std::optional<store::LayerInfo> ApplyFiles(const std::vector<runner::LayerRef>& layers, const runner::FilePlan& plan,
                                             const store::LayerWriteOptions& options) override;

 private:
  // The remote layers of `layers` fetched.
  void Fetch(const std::vector<runner::LayerRef>& layers);

  store::Store& store_;
  const registry::RegistryOptions& registry_;
  std::mutex fetch_mu_;  // one fetch at a time: stages on one base fetch it once
};

}  // namespace bld::builder
