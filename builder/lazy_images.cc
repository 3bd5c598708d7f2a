#include "builder/lazy_images.h"

#include "builder/image_state.h"
#include "builder/layer_blobs.h"
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

}  // namespace bld::builder
