// A container's upper dir, turned into an image layer in the store.
//
// The upper dir is the diff: overlayfs copies into it every file the
// container changed, marks deletions with whiteouts and replaced directories
// as opaque, and nothing else (overlay.h turns off the features that would
// leave parts of the diff in the lower layers). So making the layer is
// O(changed files), never a walk of the whole root filesystem.
//
// The tar is written by store/layer_writer.h straight into a BlobWriter: one
// pass computes the diffID and the digest and writes the blob, and Commit
// checks that the blob store hashed the same bytes. The blob's descriptor and
// its diffID are recorded after the blob is in place, per the store's rule
// (blobs first, then the records that name them).
//
// Thread safety: calls on different upper dirs are independent.
#pragma once

#include <optional>
#include <string>

#include "store/layer_writer.h"
#include "store/store.h"

namespace bld::runner {

// True when the container changed nothing.
bool IsUpperDirEmpty(const std::string& upperdir);

// The layer of `upperdir`, stored and recorded; nullopt when the container
// changed nothing ("no change" adds no layer, as in Docker). Throws
// Interrupted if SIGINT or SIGTERM arrives while writing, leaving nothing in
// the store.
std::optional<store::LayerInfo> CommitUpperDir(store::Store& store, const std::string& upperdir,
                                               const store::LayerWriteOptions& options);

}  // namespace bld::runner
