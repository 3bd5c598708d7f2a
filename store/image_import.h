// `bld import`: a root filesystem tarball becomes a one-layer image, as
// `docker import` makes one.
//
// The tarball (plain, gzip or zstd, and bzip2 or xz as Docker also reads;
// detected from its first bytes) streams through one pass: decompressed, its
// tar read by libarchive to prove it is one, hashed as the layer's diffID,
// and compressed into the blob store. Nothing is held whole in memory or
// written to a temporary file, whatever its size.
//
// The tar's bytes become the layer as they are, and every entry passes the
// layer rules of layer_reader.h (the ones the applier enforces), so a tar
// that its first unpack would refuse (a name climbing out with "..", a file
// written through a symlink of the tar, a hard link to a path the tar does
// not hold) is refused here, naming the entry, and leaves nothing behind.
// Absolute names are made relative, as Docker does.
//
// The image: the host's architecture and os, `created` as the caller says
// (now, or SOURCE_DATE_EPOCH for a reproducible image), no Cmd or Env,
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
