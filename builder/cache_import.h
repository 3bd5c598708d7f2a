// --cache-from: the build caches of other machines, looked up when the local
// cache misses (docs/cache-export.md).
//
// Opening an import reads its records document only: a registry cache costs
// one manifest and one config request, a local one two small files. A hit
// takes the recorded state and fetches nothing: its layers stay where they
// are, named by the record's blob descriptors. A layer is fetched (once,
// whichever stage asks) only when something needs its content:
//
//   - a step runs on top of it (RUN, a file step; COPY --from and RUN
//     --mount=from= sources included): CacheFetchingRuntime, before the
//     runner unpacks it, and only when its snapshot is not already there;
//   - the final image is written (EnsureLayers on the target): the store
//     holds every layer of an image it names;
//   - an export needs its bytes (cache_export.h).
//
// A layer fetched from a registry records that repository as its source
// (registry/blob_sources.h), so that `--push` to the same registry mounts it
// instead of uploading it. A cache that cannot be read (unreachable,
// missing, not a bld cache) is a warning and the build goes on without it.
//
// Thread-safety: Get and EnsureLayers may be called from several stage
// threads at once; fetches are serialized (one layer is never fetched twice).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builder/build_backend.h"
#include "builder/build_events.h"
#include "builder/cache_format.h"
#include "builder/cache_spec.h"
#include "registry/blob_sources.h"
#include "registry/session.h"
#include "store/platform.h"
#include "store/store.h"

namespace bld::builder {

// One imported cache: its records, and where their layers can be fetched.
class CacheSource {
 public:
  virtual ~CacheSource() = default;
  const CacheRecords& records() const { return records_; }
  // What it is, for messages: "registry 127.0.0.1:5000/app/cache", ...
  virtual std::string Name() const = 0;
  // The registry repository ("host/repo") its blobs are in; empty for a
  // directory.
  virtual std::string Repository() const { return ""; }
  // The same as blob_sources.h records it (the registry's API host).
  virtual std::optional<registry::BlobSource> Location() const { return std::nullopt; }
  // Fetches `layers` into the store, checking each against its diff ID.
  virtual void FetchLayers(const std::vector<store::Descriptor>& layers, const std::vector<store::Digest>& diff_ids) = 0;

 protected:
  CacheRecords records_;
};

// Opens the cache a --cache-from spec names and reads its records. Throws
// bld::Error saying why it cannot.
std::unique_ptr<CacheSource> OpenCacheSource(store::Store& store, const CacheSpec& spec,
                                             const registry::RegistryOptions& registry,
                                             const store::Platform& platform);

// A StepCache that asks `local` first, then each import in order; an
// imported hit is put into `local` as well.
class ImportedCache : public StepCache {
 public:
  // `events` (may be null) shows each fetch as a step of its own.
  ImportedCache(store::Store& store, StepCache& local, std::vector<std::unique_ptr<CacheSource>> sources,
                BuildEvents* events = nullptr)
      : store_(store), local_(local), sources_(std::move(sources)), events_(events) {}

  std::optional<ImageState> Get(const std::string& key) const override;
  void Put(const std::string& key, const ImageState& state) override { local_.Put(key, state); }
  std::optional<StepInputs> LastInputs(const std::string& identity) const override {
    return local_.LastInputs(identity);
  }
  void RememberInputs(const std::string& identity, const StepInputs& inputs) override {
    local_.RememberInputs(identity, inputs);
  }

  // The layers of `layers` (base first) made usable for the runner: each is
  // unpacked already, or its blob is in the store (another blob of the same
  // diff ID standing in for it if need be), or it is fetched from the import
  // that named it. Layers no import knows are left as they are.
  std::vector<runner::LayerRef> EnsureLayers(std::vector<runner::LayerRef> layers);
  // Fetches the layers of `state` whose blob is not in the store and that no
  // other blob or snapshot stands in for: before an image is written. Those
  // an import found at a registry whose API host is in `leave_at` are not
  // fetched but recorded as remote layers (registry/remote_blobs.h).
  void EnsureBlobs(const ImageState& state, const std::vector<std::string>& leave_at = {});
  // The repository ("host/repo") a layer blob not in the store can be
  // found in, if an import named it: an export there needs no copy.
  std::string RepositoryOf(const store::Digest& blob) const;
 private:
  // Records the layer (blob, diff ID) as remote if an import found it at a
  // registry of `leave_at`; false when none did.
  bool LeaveRemote(const store::Digest& blob, const store::Digest& diff_id, const std::vector<std::string>& leave_at);
  // Fetches each layer (blob, diff ID) that an import's hit named and of
  // which the store has no blob.
  void Fetch(const std::vector<std::pair<store::Digest, store::Digest>>& layers);
  // source.FetchLayers, shown as a step when there are events.
  void FetchShown(CacheSource& source, const std::vector<store::Descriptor>& layers,
                  const std::vector<store::Digest>& diff_ids);

  struct Origin {
    size_t source = 0;
    store::Descriptor layer;
  };

  store::Store& store_;
  StepCache& local_;
  std::vector<std::unique_ptr<CacheSource>> sources_;
  BuildEvents* events_;
  mutable std::mutex mu_;
  // Blob digest -> the source whose hit named it, and its descriptor there.
  mutable std::map<store::Digest, Origin> origin_;
  std::mutex fetch_mu_;
};

// A StepRuntime that makes sure the layers a step runs on (and reads from)
// are usable before `inner` unpacks them.
class CacheFetchingRuntime : public StepRuntime {
 public:
  CacheFetchingRuntime(StepRuntime& inner, ImportedCache& cache) : inner_(inner), cache_(cache) {}

  runner::StepResult Run(const runner::StepSpec& spec, const runner::OutputLines::LineCallback& on_line) override;
  std::optional<store::LayerInfo> ApplyFiles(const std::vector<runner::LayerRef>& layers, const runner::FilePlan& plan,
                                             const store::LayerWriteOptions& options) override;

 private:
  StepRuntime& inner_;
  ImportedCache& cache_;
};

}  // namespace bld::builder
