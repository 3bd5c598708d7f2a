// Fakes of the builder's seams (builder/build_backend.h) and a harness that
// builds a Dockerfile's stages with them: no container, no registry, no
// layer is ever written, so the stage logic is tested on its own, in
// milliseconds. The context is a real directory and the stat cache a real
// (temporary) store's index: both are cheap.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "builder/build_backend.h"
#include "builder/builder.h"
#include "builder/stage_builder.h"
#include "parser/dockerfile.h"
#include "support/process.h"

namespace bld::testing {

// A layer that was never written: its digests name the step that made it.
store::LayerInfo FakeLayer(const std::string& name);

// An image with one fake layer and the given config.
builder::ResolvedImage FakeImage(const std::string& name, store::ContainerConfig config = {});

class FakeImages : public builder::ImageSource {
 public:
  builder::ResolvedImage Resolve(const std::string& name, const store::Platform& platform) override;
  std::map<std::string, builder::ResolvedImage> images;
  std::vector<std::string> resolved;  // names asked for, in order
};

class FakeRuntime : public builder::StepRuntime {
 public:
  runner::StepResult Run(const runner::StepSpec& spec, const runner::OutputLines::LineCallback& on_line) override;
  std::optional<store::LayerInfo> ApplyFiles(const std::vector<runner::LayerRef>& layers,
                                             const runner::FilePlan& plan,
                                             const store::LayerWriteOptions& options) override;

  // What a RUN does; default: succeed with a layer named after its command.
  std::function<runner::StepResult(const runner::StepSpec&, const runner::OutputLines::LineCallback&)> on_run;
  std::vector<runner::StepSpec> runs;
  struct FileStep {
    std::vector<runner::LayerRef> layers;
    runner::FilePlan plan;
  };
  std::vector<FileStep> file_steps;

 private:
  std::mutex mu_;
};

class FakeCache : public builder::StepCache {
 public:
  std::optional<builder::ImageState> Get(const std::string& key) const override;
  void Put(const std::string& key, const builder::ImageState& state) override;
  std::optional<builder::StepInputs> LastInputs(const std::string& identity) const override;
  void RememberInputs(const std::string& identity, const builder::StepInputs& inputs) override;

  std::map<std::string, builder::ImageState> records;
  std::map<std::string, builder::StepInputs> inputs;

 private:
  mutable std::mutex mu_;
};

// Builds every stage a Dockerfile's target needs, in order, with the fakes.
class FakeBuild {
 public:
  FakeBuild();
  ~FakeBuild();

  // Writes a file of the build context.
  void Context(const std::string& rel, const std::string& content);
  // Builds `dockerfile`; returns the target stage's result. Throws as
  // BuildStage does.
  builder::StageResult Run(const std::string& dockerfile);

  builder::BuildOptions options;
  FakeImages images;
  FakeRuntime runtime;
  FakeCache cache;
  std::vector<builder::BuildEvent> events;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  int executed = 0, cached = 0;
  // Set before Run to cancel the build after that many steps have started.
  int cancel_after_steps = -1;

 private:
  TempDir root_;
  TempDir context_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace bld::testing
