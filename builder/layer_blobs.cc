#include "builder/layer_blobs.h"

#include "builder/build_cache.h"
#include "runner/snapshotter.h"
#include "runner/upper_dir_layer.h"
#include "store/error.h"
#include "store/image.h"
#include "store/lazy_layer.h"

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
  if (runner::Snapshotter::Holding(store, chain_id, layer.digest)) return true;
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

LayerBlobs::LayerBlobs(store::Store& store, const store::LayerWriteOptions& options, int workers, bool per_layer)
    : store_(store), options_(options), per_layer_(per_layer) {
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

store::LayerWriteOptions LayerBlobs::OptionsFor(const store::Descriptor& layer) const {
  if (!store::IsLazyLayer(layer)) return options_;
  store::LayerWriteOptions options = store::LazyLayerOptions(layer, options_);
  if (!per_layer_) options.compression = options_.compression;
  return options;
}

std::optional<store::Descriptor> LayerBlobs::ExistingBlob(const store::Digest& diff_id,
                                                          store::Compression compression) const {
  std::optional<store::Descriptor> blob = BlobOf(store_, diff_id, MediaTypeFor(compression));
  if (blob && blob->media_type == MediaTypeFor(compression)) return blob;
  return std::nullopt;
}

void LayerBlobs::Start(const store::Digest& chain_id, const store::Digest& diff_id) {
  if (ExistingBlob(diff_id, options_.compression)) return;
  Enqueue(chain_id, diff_id, options_);
}

std::shared_future<store::Descriptor> LayerBlobs::Enqueue(const store::Digest& chain_id, const store::Digest& diff_id,
                                                          const store::LayerWriteOptions& options) {
  std::lock_guard lock(mu_);
  if (auto it = started_.find(diff_id); it != started_.end()) return it->second;
  Job job{chain_id, diff_id, options, {}};
  std::shared_future<store::Descriptor> result = job.done.get_future().share();
  started_.emplace(diff_id, result);
  queue_.push_back(std::move(job));
  wake_.notify_one();
  return result;
}

store::Descriptor LayerBlobs::Write(const Job& job) {
  // StoreSnapshotBlob says which snapshot is missing if neither is there.
  store::Digest snapshot = runner::Snapshotter::Holding(store_, job.chain_id, job.diff_id).value_or(job.chain_id);
  store::LayerInfo layer = runner::StoreSnapshotBlob(store_, snapshot, job.diff_id, job.options, [this] {
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
      job.done.set_value(Write(job));
    } catch (...) {
      job.done.set_exception(std::current_exception());
    }
  }
}

std::vector<store::Descriptor> LayerBlobs::Materialize(const ImageState& state) { return Resolve(state, false); }

std::vector<store::Descriptor> LayerBlobs::LazyLayers(const ImageState& state) { return Resolve(state, true); }

std::vector<store::Descriptor> LayerBlobs::Resolve(const ImageState& state, bool lazy) {
  std::vector<store::Digest> chain = LayerChainIds(state);
  if (chain.size() != state.layers.size())
    throw Error("builder: the image has " + std::to_string(state.layers.size()) + " layers but " +
                std::to_string(chain.size()) + " diff IDs");
  std::vector<std::shared_future<store::Descriptor>> pending(state.layers.size());
  std::vector<store::Descriptor> out = state.layers;
  for (size_t i = 0; i < out.size(); ++i) {
    if (store_.blobs().Exists(out[i].digest)) {  // a pulled or already written layer
      if (store::IsLazyLayer(out[i])) out[i] = store::LayerBlobDescriptor(out[i]);
      continue;
    }
    // Left at a registry (registry/remote_blobs.h); never the build's own
    // lazy layers, so a warm rebuild reads no record for them.
    if (!store::IsLazyLayer(out[i]) && store_.RemoteBlobRecord(out[i].digest)) continue;
    const store::Digest& diff_id = state.config.rootfs.diff_ids[i];
    store::LayerWriteOptions options = OptionsFor(out[i]);
    if (std::optional<store::Descriptor> blob = ExistingBlob(diff_id, options.compression)) {
      out[i] = *blob;
    } else if (runner::Snapshotter::Holding(store_, chain[i], diff_id)) {
      if (lazy) out[i] = store::LazyLayerDescriptor(diff_id, out[i].size, options);
      else pending[i] = Enqueue(chain[i], diff_id, options);
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
