// Fetching remote layers: layer blobs that an image in the store names
// without holding them, because they are in a registry: a base a
// --cache-from build pulled without its layers (PullOptions::remote_layers),
// layers a push-only build left in its cache's registry
// (store::Store::RecordRemoteBlob; docs/store-format.md, "Remote layers").
// Whatever reads their bytes (a run, a build's step, a save, a push to
// another registry) fetches them first.
//
// Each blob is fetched from the repositories blob_sources.h records for it,
// in order, until one has it, and checked as a pull checks a layer: its
// digest, and its diffID against the one recorded with it.
//
// Thread safety: as the store's.
#pragma once

#include <vector>

#include "registry/puller.h"
#include "store/digest.h"
#include "store/store.h"

namespace bld::registry {

// The layers of one image, base first: with PullOptions::unpack, each layer
// fetched is unpacked at its place in the stack as it arrives.
struct LayerStack {
  std::vector<store::Digest> blobs;
  std::vector<store::Digest> diff_ids;
};

// Fetches every blob of `blobs` that is a remote layer not in the store (the
// others are left as they are). options.unpack is used only with a `stack`
// holding the blobs. Throws bld::Error naming the layer, the repositories
// asked and why each failed when one cannot be had.
void FetchRemoteLayers(store::Store& store, const std::vector<store::Digest>& blobs, const PullOptions& options,
                       const LayerStack* stack = nullptr);

}  // namespace bld::registry
