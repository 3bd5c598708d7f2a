// Unpacking a layer while it downloads: the seam between a pull (registry/)
// and the snapshots it fills (runner/snapshotter.h), which the store's
// dependents may not otherwise link.
//
// A pull that has a LayerUnpackTarget applies each layer it downloads into
// the directory Begin gives, from the same decompressed stream whose diffID
// it checks: the data is read once, and a build's first RUN finds the base's
// snapshots in place. Only a layer whose blob and diffID both checked out is
// committed; an unpack destroyed without Commit leaves nothing behind.
//
// Thread safety: Begin may be called from several threads at once (layers
// download in parallel); each LayerUnpack belongs to one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/digest.h"

namespace bld::store {

class LayerUnpack {
 public:
  // Abandons the unpack unless it was committed.
  virtual ~LayerUnpack() = default;
  // An empty directory to apply the layer into (store/layer_applier.h,
  // ApplyMode::kOverlay).
  virtual const std::string& dir() const = 0;
  // The layer in dir() is complete and verified: it becomes the snapshot.
  virtual void Commit() = 0;
};

class LayerUnpackTarget {
 public:
  virtual ~LayerUnpackTarget() = default;
  // Where to unpack layer `index` of an image whose layers have `diff_ids`
  // (base first); nullptr when that layer is unpacked already.
  virtual std::unique_ptr<LayerUnpack> Begin(const std::vector<Digest>& diff_ids, size_t index) = 0;
};

}  // namespace bld::store
