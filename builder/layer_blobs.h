// The blobs of the layers a build made, written off the critical path.
//
// A RUN or file step ends once its layer's diffID is known and its upper
// dir is the layer's snapshot (runner/upper_dir_layer.h): the next step
// mounts that snapshot at once. Its descriptor then names the uncompressed
// tar (digest == diffID) and no blob exists yet: a "lazy" layer. Only the
// layers of the image the build writes ever need a blob, compressed as the
// build asks; LayerBlobs writes those from their snapshots on background
// threads while the build goes on, and the image writer waits for them.
// Layers of stages that only feed others (COPY --from) stay lazy.
//
// A layer is usable (LayerUsable) when its blob is in the store, or another
// blob of the same diffID is (the layer compressed another way, or written
// by an earlier build), or its snapshot is: a cache record naming it may be
// trusted. Prune keeps the snapshots of lazy layers that cache records name
// (LazyLayerSnapshots), so that the cache outlives a prune as blobs do.
//
// Crash safety: a blob is committed and recorded before any manifest names
// it (runner/upper_dir_layer.h, store.h); a process killed before that
// leaves only a snapshot, which a later build uses or compresses again.
//
// Thread-safety: Start may be called from any stage thread; Materialize from
// one thread once the stages are done. The destructor stops the workers and
// abandons queued work (nothing is recorded for a blob not committed).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "builder/image_state.h"
#include "store/digest.h"
#include "store/layer_writer.h"
#include "store/store.h"

namespace bld::builder {

// The chain ID of each layer of `state` (its snapshot names), base first.
std::vector<store::Digest> LayerChainIds(const ImageState& state);

// Whether the layer `layer` (snapshot `chain_id`) can be used: see above.
bool LayerUsable(const store::Store& store, const store::Descriptor& layer, const store::Digest& chain_id);

// The snapshots that build cache records need because their layers have no
// blob: prune must keep them.
std::set<store::Digest> LazyLayerSnapshots(const store::Store& store);

class LayerBlobs {
 public:
  // `options` is how the build writes layers (its compression and time
  // clamp); `workers` threads compress at once. With `per_layer` set, a
  // lazy layer's blob is compressed as its annotation says rather than as
  // `options` does (completing an image made by another build).
  LayerBlobs(store::Store& store, const store::LayerWriteOptions& options, int workers, bool per_layer = false);
  ~LayerBlobs();
  LayerBlobs(const LayerBlobs&) = delete;
  LayerBlobs& operator=(const LayerBlobs&) = delete;

  // Starts writing the blob of the layer `diff_id` from the snapshot
  // `chain_id`, unless it is written or started already.
  void Start(const store::Digest& chain_id, const store::Digest& diff_id);

  // `state`'s layer descriptors, each naming a blob in the store: a blob
  // compressed as asked when one exists (waiting for a started one), else
  // any blob of the same diffID, else one written now from the snapshot.
  // Throws bld::Error naming the layer when none can be had.
  std::vector<store::Descriptor> Materialize(const ImageState& state);

  // As Materialize, but a layer whose blob would have to be written is
  // named lazily instead (store/lazy_layer.h): what a build that no push or
  // archive waits for writes.
  std::vector<store::Descriptor> LazyLayers(const ImageState& state);

 private:
  struct Job {
    store::Digest chain_id, diff_id;
    store::LayerWriteOptions options;
    std::promise<store::Descriptor> done;
  };

  // How the layer `layer` of a state is written: as its lazy annotation
  // says (the time clamp always, the compression with per_layer_), else as
  // the build's options.
  store::LayerWriteOptions OptionsFor(const store::Descriptor& layer) const;
  std::optional<store::Descriptor> ExistingBlob(const store::Digest& diff_id, store::Compression compression) const;
  std::shared_future<store::Descriptor> Enqueue(const store::Digest& chain_id, const store::Digest& diff_id,
                                                const store::LayerWriteOptions& options);
  store::Descriptor Write(const Job& job);
  std::vector<store::Descriptor> Resolve(const ImageState& state, bool lazy);
  void Work();

  store::Store& store_;
  const store::LayerWriteOptions options_;
  const bool per_layer_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::map<store::Digest, std::shared_future<store::Descriptor>> started_;  // by diffID
  std::vector<std::thread> workers_;
};

}  // namespace bld::builder
