// The --cache-from and --cache-to of one build, wired around its local
// cache and its runtime: builder.cc asks for the StepCache and StepRuntime
// the stages use, then calls the hooks below around writing the image.
//
//   StepCache:   CacheRecorder (cache_export.h) -> ImportedCache
//                (cache_import.h) -> the store's BuildCache
//   StepRuntime: CacheFetchingRuntime (fetches imported layers a step
//                needs) -> the container runtime
//
// Without either flag both are the local ones, untouched. An import that
// cannot be read is a warning; an export that fails throws, unless its spec
// says ignore-error=true, which makes it a warning.
//
// Thread-safety: cache() and runtime() are used by the stage threads as
// their contracts allow; the hooks run on the build's thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_events.h"
#include "builder/cache_export.h"
#include "builder/cache_import.h"
#include "builder/layer_blobs.h"
#include "builder/builder.h"

namespace bld::builder {

class CacheExchange {
 public:
  CacheExchange(store::Store& store, const BuildOptions& options, StepCache& local, StepRuntime& runtime,
                BuildEvents& events, const store::Platform& platform);

  StepCache& cache() { return *cache_; }
  StepRuntime& runtime() { return *runtime_; }

  // Before the image is written: the imported layers of `target` fetched,
  // but for those left at a registry the image is pushed to
  // (BuildOptions::remote_layers_at).
  void FetchImageLayers(const ImageState& target);
  // type=inline: the label to add to the image, whose layers are
  // `written_layers`. Throws when the records are too large for a config.
  void AddInlineLabel(const ImageState& target, const std::vector<store::Descriptor>& written_layers,
                      std::map<std::string, std::string>& labels) const;
  // After the image is written: every type=registry and type=local export,
  // mode=min keeping the steps of `targets` (one final image per platform).
  // `build_blobs` writes blobs in the build's compression.
  void Export(const std::vector<ImageState>& targets, LayerBlobs& build_blobs, int workers);

 private:
  void Import(const std::vector<CacheSpec>& specs, const store::Platform& platform);

  store::Store& store_;
  const BuildOptions& options_;
  BuildEvents& events_;
  StepCache* cache_;
  StepRuntime* runtime_;
  std::optional<ImportedCache> imported_;
  std::optional<CacheFetchingRuntime> fetching_;
  std::optional<CacheRecorder> recorder_;
};

}  // namespace bld::builder
