// The build cache: what each step produced, by the step's cache key.
//
// A key is a sha256 over everything the step's result depends on (see
// cache_key.h and docs/cache-keys.md); the record holds the image state
// after the step: its config (with history and diff IDs) and the manifest
// descriptors of its layers. A hit reuses that state and runs nothing. A
// record is trusted only while every layer it names is usable: its blob, or
// for a layer whose blob is written lazily, its snapshot (layer_blobs.h).
//
// Beside each record, the "explain" table remembers the inputs of the last
// build of each step (by Dockerfile, stage and position), so that a miss can
// say what changed: the instruction, a build arg, the base, or files.
//
// Records live in the LMDB table kCache: "k:<key>" for results, "e:<step
// identity>" for explain inputs. Writes are batched per build. Prune keeps
// the layers the results name (BuildCacheGcParticipant below).
//
// Thread-safety: all methods may be called from several threads.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_backend.h"
#include "builder/image_state.h"
#include "store/garbage_collector.h"
#include "store/oci.h"
#include "store/store.h"

namespace bld::builder {

class BuildCache : public StepCache {
 public:
  explicit BuildCache(store::Store& store) : store_(store) {}

  // The state a step with this key produced, if recorded and all its
  // layers are usable.
  std::optional<ImageState> Get(const std::string& key) const override;
  void Put(const std::string& key, const ImageState& state) override;

  std::optional<StepInputs> LastInputs(const std::string& identity) const override;
  void RememberInputs(const std::string& identity, const StepInputs& inputs) override;

  // Writes the batched records in one transaction.
  void Flush();

  // What differs between two builds of a step, for --explain.
  static std::string Explain(const std::optional<StepInputs>& before, const StepInputs& now);

 private:
  store::Store& store_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> pending_;
};

std::string SerializeState(const ImageState& state);
// The states of all cache records this version can read.
std::vector<ImageState> CachedStates(const store::Store& store);
ImageState ParseState(std::string_view json);

// What the build cache keeps alive, told to `bld prune` through the store's
// GcParticipant interface (store/garbage_collector.h): the layer blobs every
// result record names, so that a cache hit finds its layers, and the
// snapshots of the layers among them that have no blob (LazyLayerSnapshots,
// layer_blobs.h), which are then the layers' only copy. A record whose
// "layers" this code cannot read keeps nothing (Get treats it as a miss);
// only the layers' digests are read, so an older record with a config this
// version would refuse still keeps its layers. Explain records keep nothing.
// The cache has nothing to sweep: a record whose layers a prune removed
// anyway is a miss.
class BuildCacheGcParticipant : public store::GcParticipant {
 public:
  void AddRoots(const store::Store& store, store::GcRoots& roots) const override;
  void Sweep(store::Store&, const store::GcRoots&, store::PruneReport&) override {}
};

}  // namespace bld::builder
