// The builder's seams: what a build needs from outside its own logic, as
// small interfaces, so that the scheduling, caching and step logic can be
// tested against fakes (as ninja tests its builder against a fake disk and
// command runner), and bld wires in the real store, registry and runner.
//
//   ImageSource   FROM <image>, COPY --from=<image>: an image's config and
//                 layers, from the local store or pulled from its registry
//   StepRuntime   RUN in a container; COPY/ADD/WORKDIR applied to an image's
//                 files; both return the layer of what changed
//   StepCache     cache records by key, and the inputs of the last build of
//                 each step (for --explain)
//
// Thread-safety: implementations must allow calls from several stage
// threads at once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "builder/image_state.h"
#include "runner/file_plan.h"
#include "runner/output_lines.h"
#include "runner/step_runner.h"
#include "store/oci.h"

namespace bld::builder {

struct ResolvedImage {
  ImageState state;
  store::Digest manifest;  // what FROM's key pins
  std::string shown;       // "docker.io/library/busybox:latest@sha256:..."
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // The image `name` for `platform`. Throws bld::Error saying why there is
  // none.
  virtual ResolvedImage Resolve(const std::string& name, const store::Platform& platform) = 0;
};

class StepRuntime {
 public:
  virtual ~StepRuntime() = default;
  // A RUN step (runner/step_runner.h).
  virtual runner::StepResult Run(const runner::StepSpec& spec, const runner::OutputLines::LineCallback& on_line) = 0;
  // A file step (runner/file_step.h): the layer of what `plan` changed on `layers`.
  virtual std::optional<store::LayerInfo> ApplyFiles(const std::vector<runner::LayerRef>& layers, const runner::FilePlan& plan,
                                                     const store::LayerWriteOptions& options) = 0;
};

class StepCache {
 public:
  virtual ~StepCache() = default;
  virtual std::optional<ImageState> Get(const std::string& key) const = 0;
  virtual void Put(const std::string& key, const ImageState& state) = 0;
  virtual std::optional<StepInputs> LastInputs(const std::string& identity) const = 0;
  virtual void RememberInputs(const std::string& identity, const StepInputs& inputs) = 0;
};

}  // namespace bld::builder
