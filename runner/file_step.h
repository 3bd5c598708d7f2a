// A file step: COPY, ADD and WORKDIR's mkdir, carried out on an image's
// files without running anything of the image (it may have no shell at
// all: FROM scratch), and turned into the layer of what changed.
//
// The plan (file_plan.h) runs in a container started through the runner's
// one entry point (container.h) on a bare overlay root, whose upper dir is
// the layer, exactly as for a RUN step: promoted to the layer's snapshot,
// its blob written later if an image needs it (upper_dir_layer.h). Whatever happens, the container is
// gone and its directory removed when RunFileStep returns or throws.
//
// Thread safety: RunFileStep may be called from several threads at once.
#pragma once

#include <optional>
#include <vector>

#include "runner/file_plan.h"
#include "runner/snapshotter.h"
#include "store/layer_writer.h"
#include "store/store.h"

namespace bld::runner {

// Carries out `plan` on the image made of `layers` and returns the layer of
// what changed (nullopt when nothing did), as RunStep's StepResult::layer. Throws bld::Error naming what
// failed.
std::optional<store::LayerInfo> RunFileStep(store::Store& store, const std::vector<LayerRef>& layers,
                                            const FilePlan& plan, const store::LayerWriteOptions& options);

}  // namespace bld::runner
