#include "builder/layer_blobs.h"

#include "builder/build_cache.h"
#include "runner/snapshotter.h"
#include "runner/upper_dir_layer.h"
#include "store/error.h"
#include "store/image.h"

namespace bld::builder {

namespace {

// Thrown into a job the destructor abandons; nobody waits for it then.
struct Stopped : Error {
  Stopped() : Error("builder: the build ended before this layer's blob was written") {}
};

std::string_view MediaTypeFor(store::Compression compression) {
  if (compression == store::Compression::kGzip) return store::kMediaTypeLayerGzip;
  if (compression == store::Compression::kZstd) return store::kMediaTypeLayerZstd;
  return store::kMediaTypeLayerTar;  // the layer writer writes nothing else
}

// A blob in the store of the layer `diff_id`, preferring `media_type`.
std::optional<store::Descriptor> BlobOf(const store::Store& store, const store::Digest& diff_id,
                                        std::string_view media_type) {
  std::optional<store::Descriptor> any;
  for (const store::Digest& digest : store.BlobsWithDiffId(diff_id)) {
    std::optional<store::Descriptor> record = store.BlobRecord(digest);
    if (!record || !store.blobs().Exists(digest)) continue;
    if (record->media_type == media_type) return record;
    if (!any) any = record;
  }
  return any;
}

}  // namespace

std::vector<store::Digest> LayerChainIds(const ImageState& state) {
  return runner::Snapshotter::ChainIds(state.config.rootfs.diff_ids);
}

bool LayerUsable(const store::Store& store, const store::Descriptor& layer, const store::Digest& chain_id) {
  if (store.blobs().Exists(layer.digest)) return true;
  if (runner::Snapshotter::Exists(store, chain_id)) return true;
  // The layer of a cache record written before its blob was: its diffID is
  // the descriptor's digest, and the blob written later is under it.
  return BlobOf(store, layer.digest, "").has_value();
}

std::set<store::Digest> LazyLayerSnapshots(const store::Store& store) {
  std::set<store::Digest> needed;
  for (const ImageState& state : CachedStates(store)) {
    std::vector<store::Digest> chain = LayerChainIds(state);
    for (size_t i = 0; i < state.layers.size() && i < chain.size(); ++i)
      if (!store.blobs().Exists(state.layers[i].digest)) needed.insert(chain[i]);
  }
  return needed;
}

LayerBlobs::LayerBlobs(store::Store& store, const store::LayerWriteOptions& options, int workers)
    : store_(store), options_(options) {
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { Work(); });
}

LayerBlobs::~LayerBlobs() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (Job& job : queue_) job.done.set_exception(std::make_exception_ptr(Stopped()));
    queue_.clear();
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

std::optional<store::Descriptor> LayerBlobs::ExistingBlob(const store::Digest& diff_id) const {
  std::optional<store::Descriptor> blob = BlobOf(store_, diff_id, MediaTypeFor(options_.compression));
  if (blob && blob->media_type == MediaTypeFor(options_.compression)) return blob;
  return std::nullopt;
}

void LayerBlobs::Start(const store::Digest& chain_id, const store::Digest& diff_id) {
  if (ExistingBlob(diff_id)) return;
  Enqueue(chain_id, diff_id);
}

std::shared_future<store::Descriptor> LayerBlobs::Enqueue(const store::Digest& chain_id,
                                                          const store::Digest& diff_id) {
  std::lock_guard lock(mu_);
  if (auto it = started_.find(diff_id); it != started_.end()) return it->second;
  Job job{chain_id, diff_id, {}};
  std::shared_future<store::Descriptor> result = job.done.get_future().share();
  started_.emplace(diff_id, result);
  queue_.push_back(std::move(job));
  wake_.notify_one();
  return result;
}

store::Descriptor LayerBlobs::Write(const store::Digest& chain_id, const store::Digest& diff_id) {
  store::LayerInfo layer = runner::StoreSnapshotBlob(store_, chain_id, diff_id, options_, [this] {
    if (stopping_) throw Stopped();
  });
  return store::LayerDescriptor(layer);
}

void LayerBlobs::Work() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job.done.set_value(Write(job.chain_id, job.diff_id));
    } catch (...) {
      job.done.set_exception(std::current_exception());
    }
  }
}

std::vector<store::Descriptor> LayerBlobs::Materialize(const ImageState& state) {
  std::vector<store::Digest> chain = LayerChainIds(state);
  if (chain.size() != state.layers.size())
    throw Error("builder: the image has " + std::to_string(state.layers.size()) + " layers but " +
                std::to_string(chain.size()) + " diff IDs");
  std::vector<std::shared_future<store::Descriptor>> pending(state.layers.size());
  std::vector<store::Descriptor> out = state.layers;
  for (size_t i = 0; i < out.size(); ++i) {
    if (store_.blobs().Exists(out[i].digest)) continue;  // a pulled or already written layer
    const store::Digest& diff_id = state.config.rootfs.diff_ids[i];
    if (std::optional<store::Descriptor> blob = ExistingBlob(diff_id)) {
      out[i] = *blob;
    } else if (runner::Snapshotter::Exists(store_, chain[i])) {
      pending[i] = Enqueue(chain[i], diff_id);
    } else if (std::optional<store::Descriptor> other = BlobOf(store_, diff_id, "")) {
      out[i] = *other;  // compressed another way, and no snapshot to write it again from
    } else {
      throw Error("builder: the layer " + diff_id.str() + " has no blob and no snapshot; build again with --no-cache");
    }
  }
  for (size_t i = 0; i < out.size(); ++i)
    if (pending[i].valid()) out[i] = pending[i].get();
  return out;
}

}  // namespace bld::builder
