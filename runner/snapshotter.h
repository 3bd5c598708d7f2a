// Image layers unpacked once, as directories that overlayfs stacks into a
// container's root filesystem.
//
// A layer's directory depends on the layer and on every layer below it (a
// whiteout only means something on top of its parents), so snapshots are
// keyed by OCI chain ID, not diffID:
//   chainID(L0) = diffID(L0)
//   chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln))
// and live in <root>/snapshots/<chain ID hex>/. Each is unpacked by the
// store's hostile-tar applier in overlay mode (whiteouts as 0/0 character
// devices, opaque directories as trusted.overlay.opaque=y), which is what
// overlayfs reads in a lowerdir.
//
// The guarantee: a directory under snapshots/ named by a chain ID holds that
// layer completely. A layer is unpacked into a locked temporary directory
// snapshots/tmp-<random>/, its diffID checked against the one expected, its
// data flushed to disk, and only then renamed into place; the LMDB record
// (table snapshots, docs/store-format.md) is written after the rename. Two
// processes unpacking the same layer at once both succeed: the rename is
// RENAME_NOREPLACE, the loser discards its copy and uses the winner's. A
// crash leaves at worst a tmp- directory (removed by RemoveAbandonedUnpacks)
// or a complete snapshot without its record (recorded by the next Prepare).
//
// Thread safety: any number of threads and processes may call Prepare on one
// store at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/digest.h"
#include "store/layer_unpack.h"
#include "store/store.h"

namespace bld::runner {

// One layer of an image: the digest of its uncompressed tar (from the image
// config) and the blob in the store that holds it (from the manifest).
struct LayerRef {
  store::Digest diff_id;
  store::Digest blob;
};

class Snapshotter {
 public:
  explicit Snapshotter(store::Store& store) : store_(store) {}

  // The chain ID of each layer of the stack `diff_ids` (base first).
  static std::vector<store::Digest> ChainIds(const std::vector<store::Digest>& diff_ids);

  // Makes sure every layer of `layers` (base first) is unpacked and returns
  // the snapshot directories, top first, as overlayfs lists lowerdirs. Throws
  // if a blob is missing or does not hold the layer it should; throws
  // Interrupted if SIGINT or SIGTERM arrives during an unpack.
  std::vector<std::string> Prepare(const std::vector<LayerRef>& layers);

  // The directory of the snapshot with this chain ID.
  std::string Path(const store::Digest& chain_id) const;
  // Whether the snapshot with this chain ID is in place in `store`.
  static bool Exists(const store::Store& store, const store::Digest& chain_id);

  // Makes `dir`, a directory in the snapshot format on the store's
  // filesystem (a container's upper dir), the snapshot of the layer
  // `diff_id` on top of the stack `below` (base first). Returns its chain
  // ID. When that snapshot exists already (the same layer, made by another
  // step or process), `dir` is left where it is and the existing one used.
  store::Digest Promote(const std::string& dir, const std::vector<LayerRef>& below, const store::Digest& diff_id);

  // Removes the temporary directories of unpacks whose process died; returns
  // their paths.
  std::vector<std::string> RemoveAbandonedUnpacks();

  // Unpacks fed by a pull as it downloads (store/layer_unpack.h), each in its
  // own locked temporary directory, renamed into place by Commit as Prepare
  // does.
  class PullUnpacks : public store::LayerUnpackTarget {
   public:
    explicit PullUnpacks(store::Store& store) : store_(store) {}
    std::unique_ptr<store::LayerUnpack> Begin(const std::vector<store::Digest>& diff_ids, size_t index) override;

   private:
    store::Store& store_;
  };

 private:
  void Unpack(const LayerRef& layer, const store::Digest& chain_id);

  store::Store& store_;
};

}  // namespace bld::runner
