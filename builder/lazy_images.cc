#include "builder/lazy_images.h"

#include <algorithm>

#include "builder/image_state.h"
#include "builder/layer_blobs.h"
#include "registry/blob_sources.h"
#include "registry/remote_blobs.h"
#include "store/error.h"
#include "store/image.h"
#include "store/lazy_layer.h"

namespace bld::builder {

namespace {

// A manifest with lazy layers, written again naming their blobs; the same
// descriptor when it has none.
store::Descriptor CompleteManifest(store::Store& store, const store::Descriptor& descriptor, int workers) {
  store::ImageManifest manifest =
      store::ParseImageManifest(store.blobs().ReadAll(descriptor.digest, store::kMaxManifestSize), descriptor.digest);
  if (!store::HasLazyLayers(store, manifest)) return descriptor;
  ImageState state;
  state.config = store::ParseImageConfig(store.blobs().ReadAll(manifest.config.digest, store::kMaxConfigSize),
                                         manifest.config.digest);
  state.layers = manifest.layers;
  LayerBlobs blobs(store, {}, workers, /*per_layer=*/true);
  std::vector<store::Descriptor> layers = blobs.Materialize(state);
  store::BlobInfo config{manifest.config.digest, static_cast<uint64_t>(manifest.config.size)};
  bool oci = descriptor.media_type != store::media_type::kDockerManifest;
  store::Descriptor complete = store::WriteManifest(store, config, layers, oci);
  complete.platform = descriptor.platform;
  return complete;
}

}  // namespace

store::Descriptor CompleteImage(store::Store& store, const store::Descriptor& root, int workers) {
  store::Descriptor complete = root;
  if (store::IsIndexMediaType(root.media_type)) {
    store::ImageIndex index =
        store::ParseImageIndex(store.blobs().ReadAll(root.digest, store::kMaxIndexSize), root.digest);
    std::vector<store::Descriptor> entries;
    bool changed = false;
    for (const store::Descriptor& entry : index.manifests) {
      entries.push_back(store::IsManifestMediaType(entry.media_type) ? CompleteManifest(store, entry, workers) : entry);
      changed = changed || entries.back().digest != entry.digest;
    }
    if (!changed) return root;
    complete = store::WriteIndex(store, entries, root.media_type != store::media_type::kDockerManifestList);
  } else if (store::IsManifestMediaType(root.media_type)) {
    complete = CompleteManifest(store, root, workers);
    if (complete.digest == root.digest) return root;
  } else {
    return root;
  }
  complete.platform.reset();
  store::Descriptor from = root;
  from.platform.reset();
  store.ReplaceImage(from, complete);
  return complete;
}

void FetchRemoteLayers(store::Store& store, const std::vector<store::Descriptor>& layers,
                       const registry::RegistryOptions& registry, const std::vector<std::string>& leave_at) {
  std::vector<store::Digest> wanted;
  for (const store::Descriptor& layer : layers) {
    // A lazy layer is never remote: a warm rebuild's own layers cost nothing here.
    if (store::IsLazyLayer(layer) || store.blobs().Exists(layer.digest) || !store.RemoteBlobRecord(layer.digest))
      continue;
    std::vector<registry::BlobSource> at = registry::BlobSources(store, layer.digest);
    bool left = std::any_of(at.begin(), at.end(), [&](const registry::BlobSource& source) {
      return std::find(leave_at.begin(), leave_at.end(), source.registry) != leave_at.end();
    });
    if (!left) wanted.push_back(layer.digest);
  }
  if (wanted.empty()) return;
  registry::PullOptions options;
  options.registry = registry;
  registry::FetchRemoteLayers(store, wanted, options);
}

void FetchRemoteLayers(store::Store& store, const std::vector<runner::LayerRef>& layers,
                       const registry::RegistryOptions& registry, std::mutex* one_at_a_time) {
  registry::LayerStack stack;
  for (const runner::LayerRef& layer : layers) {
    stack.blobs.push_back(layer.blob);
    stack.diff_ids.push_back(layer.diff_id);
  }
  std::vector<store::Digest> chain;  // hashed only when a layer is remote
  auto wanted = [&] {
    std::vector<store::Digest> out;
    for (size_t i = 0; i < layers.size(); ++i) {
      if (store.blobs().Exists(layers[i].blob) || !store.RemoteBlobRecord(layers[i].blob)) continue;
      if (chain.empty()) chain = store::ChainIds(stack.diff_ids);
      if (!runner::Snapshotter::Exists(store, chain[i])) out.push_back(layers[i].blob);
    }
    return out;
  };
  if (wanted().empty()) return;
  std::unique_lock<std::mutex> lock;
  if (one_at_a_time) lock = std::unique_lock(*one_at_a_time);
  std::vector<store::Digest> fetch = wanted();  // another thread may have fetched them meanwhile
  if (fetch.empty()) return;
  registry::PullOptions options;
  options.registry = registry;
  runner::Snapshotter::PullUnpacks unpacks(store);
  options.unpack = &unpacks;
  registry::FetchRemoteLayers(store, fetch, options, &stack);
}

}  // namespace bld::builder
