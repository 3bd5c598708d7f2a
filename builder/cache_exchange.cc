#include "builder/cache_exchange.h"

#include "store/error.h"
#include "store/oci.h"

namespace bld::builder {

namespace {

// Half the config limit: the rest is the image's own config and history.
constexpr size_t kMaxInlineRecordsSize = store::kMaxConfigSize / 2;

}  // namespace

CacheExchange::CacheExchange(store::Store& store, const BuildOptions& options, StepCache& local, StepRuntime& runtime,
                             BuildEvents& events, const store::Platform& platform)
    : store_(store), options_(options), events_(events), cache_(&local), runtime_(&runtime) {
  if (!options.cache_from.empty()) Import(options.cache_from, platform);
  if (!options.cache_to.empty()) {
    recorder_.emplace(*cache_);
    cache_ = &*recorder_;
  }
}

void CacheExchange::Import(const std::vector<CacheSpec>& specs, const store::Platform& platform) {
  std::vector<std::unique_ptr<CacheSource>> sources;
  for (const CacheSpec& spec : specs) {
    std::string where = spec.type == CacheType::kLocal ? spec.dir : spec.ref;
    StepProgress progress = events_.StartStep("importing cache from " + where, -1);
    try {
      sources.push_back(OpenCacheSource(store_, spec, options_.registry, platform));
      progress.Done();
    } catch (const std::exception& e) {
      // As BuildKit: a cache that is not there makes a cold build, not a failed one.
      progress.Cancelled();
      events_.Warning("--cache-from " + spec.spec + ": not used: " + e.what());
    }
  }
  imported_.emplace(store_, *cache_, std::move(sources), &events_);
  cache_ = &*imported_;
  fetching_.emplace(*runtime_, *imported_);
  runtime_ = &*fetching_;
}

void CacheExchange::FetchImageLayers(const ImageState& target) {
  if (imported_) imported_->EnsureBlobs(target, options_.remote_layers_at);
}

void CacheExchange::AddInlineLabel(const ImageState& target, const std::vector<store::Descriptor>& written_layers,
                                   std::map<std::string, std::string>& labels) const {
  for (const CacheSpec& spec : options_.cache_to) {
    if (spec.type != CacheType::kInline || !recorder_) continue;
    std::string records = InlineCacheRecords(recorder_->Taken(), target, written_layers);
    // Registries and clients refuse configs over kMaxConfigSize: an image
    // that no one could pull is worse than an image without its cache.
    if (records.size() > kMaxInlineRecordsSize)
      throw Error("--cache-to " + spec.spec + ": the cache records are " + std::to_string(records.size()) +
                  " bytes, too many for an image config (at most " + std::to_string(kMaxInlineRecordsSize) +
                  "): export them with type=registry or type=local");
    labels[std::string(kInlineCacheLabel)] = records;
  }
}

void CacheExchange::Export(const std::vector<ImageState>& targets, LayerBlobs& build_blobs, int workers) {
  if (!recorder_) return;
  CacheRecords taken = recorder_->Taken();
  for (const CacheSpec& spec : options_.cache_to) {
    if (spec.type == CacheType::kInline) continue;
    std::string where = spec.type == CacheType::kLocal ? spec.dir : spec.ref;
    StepProgress progress = events_.StartStep("exporting cache to " + where, -1);
    try {
      std::optional<LayerBlobs> other;
      LayerBlobs* blobs = &build_blobs;
      if (spec.compression && *spec.compression != options_.compression) {
        store::LayerWriteOptions write;
        write.compression = *spec.compression;
        write.source_date_epoch = options_.source_date_epoch;
        blobs = &other.emplace(store_, write, workers);
      }
      CacheExportEnv env{store_, options_.registry, *blobs, imported_ ? &*imported_ : nullptr};
      ExportCache(env, spec, SelectRecords(taken, targets, spec.mode));
      progress.Done();
    } catch (const std::exception& e) {
      progress.Error(e.what());
      if (!spec.ignore_error) throw;
      events_.Warning(std::string(e.what()) + " (ignored: ignore-error=true)");
    }
  }
}

}  // namespace bld::builder
