// `bld import`: a root filesystem tarball becomes a one-layer image, as
// `docker import` makes one.
//
// The tarball (plain, gzip or zstd, and bzip2 or xz as Docker also reads;
// detected from its first bytes) streams through one pass: decompressed, its
// tar read by libarchive to prove it is one, hashed as the layer's diffID,
// and compressed into the blob store. Nothing is held whole in memory or
// written to a temporary file, whatever its size.
//
// The tar's bytes become the layer as they are, so its entries are checked
// only for what no later step could make sense of: an entry whose name (or
// hard-link target) climbs above the root with ".." is refused here, with
// its name, rather than when the image first runs. Everything else
// (absolute names, symlinks pointing anywhere, devices) is what root
// filesystems hold, and the layer applier handles it safely.
//
// The image: the host's architecture and os, `created` now, no Cmd or Env,
// one history entry with the comment "Imported from <source>" (or the
// caller's message), as Docker writes it. The ref is the caller's to write.
//
// Thread safety: ImportRootfs keeps no state; concurrent calls are
// independent. Hold a shared GcLock (garbage_collector.h) from the import to
// the ref.
#pragma once

#include <chrono>
#include <string>

#include "store/compression.h"
#include "store/image.h"
#include "store/layer_writer.h"
#include "store/oci.h"
#include "store/store.h"

namespace bld::store {

struct ImportOptions {
  // Names the source in the history comment: a path or "-".
  std::string source;
  // Replaces the comment "Imported from <source>" when not empty.
  std::string message;
  std::chrono::system_clock::time_point created = std::chrono::system_clock::now();
  Platform platform = HostPlatform();
  // The layer blob's compression: kGzip, kZstd or kNone.
  Compression compression = Compression::kGzip;
  bool oci = true;  // manifest format, as WriteImage
};

struct ImportResult {
  Descriptor manifest;
  Digest image_id;
  LayerInfo layer;
};

// Throws bld::Error naming the problem (not a tar, a corrupt stream, an
// escaping entry) and leaving no blob behind for a refused tarball.
ImportResult ImportRootfs(Store& store, const ByteSource& tarball, const ImportOptions& options = {});

}  // namespace bld::store
