// A container's upper dir, or a snapshot made from one, as an image layer.
//
// The upper dir is the diff: overlayfs copies into it every file the
// container changed, marks deletions with whiteouts and replaced directories
// as opaque, and nothing else (overlay.h turns off the features that would
// leave parts of the diff in the lower layers). So making the layer is
// O(changed files), never a walk of the whole root filesystem. A snapshot
// promoted from an upper dir (snapshotter.h) holds exactly the same tree, so
// the layer written from it later is byte for byte the one the upper dir
// gave.
//
// Two ways to make a layer, both one pass over the tree:
//  - DiffLayer only hashes the tar (the diffID) and writes nothing: what a
//    build step needs before the next step can start. Its LayerInfo names
//    the uncompressed tar (digest == diffID), whose blob does not exist yet.
//  - StoreSnapshotBlob and CommitUpperDir write the blob, compressed as
//    asked, into the store through store::StoreLayer: the tar goes straight
//    into a BlobWriter, which checks that it hashed the same bytes; the
//    blob's descriptor and diffID are recorded after the blob is in place
//    (blobs first, then the records that name them).
//
// Thread safety: calls on different directories are independent.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runner/snapshotter.h"
#include "store/digest.h"
#include "store/layer_writer.h"
#include "store/store.h"

namespace bld::runner {

// True when the container changed nothing.
bool IsUpperDirEmpty(const std::string& upperdir);

// The diffID and size of the layer `dir` holds, with `options`' entry time
// clamp (its compression is not used); nothing is written.
store::LayerInfo DiffLayer(const std::string& dir, const store::LayerWriteOptions& options);

// A build step's layer: the diffID of `upperdir` (DiffLayer), and the upper
// dir itself promoted to that layer's snapshot on top of `below`
// (snapshotter.h); nullopt when the container changed nothing. The LayerInfo
// names the uncompressed tar, whose blob is written later from the snapshot
// (StoreSnapshotBlob), if an image ever needs it.
std::optional<store::LayerInfo> PromoteUpperDir(store::Store& store, const std::vector<LayerRef>& below,
                                                const std::string& upperdir, const store::LayerWriteOptions& options);

// The blob of the layer `diff_id` whose snapshot is `chain_id`, written from
// the snapshot; throws if the snapshot is gone or no longer gives diff_id.
store::LayerInfo StoreSnapshotBlob(store::Store& store, const store::Digest& chain_id, const store::Digest& diff_id,
                                   const store::LayerWriteOptions& options,
                                   const std::function<void()>& each_chunk = nullptr);

// The layer of `upperdir`, stored and recorded; nullopt when the container
// changed nothing ("no change" adds no layer, as in Docker).
std::optional<store::LayerInfo> CommitUpperDir(store::Store& store, const std::string& upperdir,
                                               const store::LayerWriteOptions& options);

}  // namespace bld::runner
