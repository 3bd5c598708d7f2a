// Writes a filesystem diff as an image layer: a tar stream, compressed,
// hashed twice on the way out.
//
// A layer is what `docker build` makes of a step that changes files: a tar of
// the changed paths, with deletions written as whiteouts (`.wh.<name>`) and
// directories whose earlier content is hidden marked opaque (`.wh..wh..opq`).
// Its diffID (sha256 of the tar) goes into the image config, its digest
// (sha256 of the compressed blob) into the manifest; both are computed in the
// one pass that produces the blob, and the blob goes to a caller's sink, so
// that the blob store can verify and store it without a temporary copy.
//
// What the tar holds, so that the same files always give the same bytes:
//  - PAX format; entries in tree order (a directory, then its children by
//    byte order of their names, depth first: Docker's walk order), so parents
//    come before children;
//  - numeric uid/gid only (no user or group names, which depend on the host's
//    /etc/passwd); mode bits including setuid, setgid and sticky;
//  - modification time in whole seconds (as Docker writes it), clamped to
//    SOURCE_DATE_EPOCH when one is given; no atime or ctime;
//  - hard links within the layer as hard-link entries to the first path in
//    tree order; symlinks as they are (never followed); device nodes and fifos;
//    sockets are skipped (tar cannot hold them, Docker skips them too);
//  - every extended attribute, including security.capability and POSIX ACLs,
//    as SCHILY.xattr records in name order, except trusted.overlay.*, which is
//    overlayfs bookkeeping, not content;
//  - whiteouts and opaque markers as empty regular files, mode 0600, owner
//    0:0, time 0: they mean "delete" and carry no metadata;
//  - names are bytes: a name that is not UTF-8 is kept as it is.
// A file named `.wh.<something>` in the source is refused: every reader would
// take it for a whiteout.
//
// Memory stays flat whatever the layer size: file contents stream through a
// 1 MiB buffer, the walk holds one directory listing per level of depth, and
// the compressor's threads hold a few blocks each (see compression.h): about
// 13 MiB for gzip and 22 MiB for zstd on 2 CPUs, measured on a 1 GiB tree.
//
// Thread-safety: the functions share no state; concurrent calls are
// independent. The sink is called from the calling thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/compression.h"
#include "store/digest.h"

namespace bld::store {

inline constexpr std::string_view kMediaTypeLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kMediaTypeLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kMediaTypeLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

struct LayerWriteOptions {
  // kNone, kGzip or kZstd.
  Compression compression = Compression::kGzip;
  CompressOptions compress;
  // When set, no time in the layer is later than this (seconds since the
  // epoch): the caller reads SOURCE_DATE_EPOCH and passes it here.
  std::optional<int64_t> source_date_epoch;
};

// What a written layer is, for the manifest and the config.
struct LayerInfo {
  Digest diff_id;                  // sha256 of the uncompressed tar
  Digest digest;                   // sha256 of the blob as written to the sink
  uint64_t compressed_size = 0;    // bytes written to the sink
  uint64_t uncompressed_size = 0;  // bytes of the tar
  std::string media_type;          // the OCI layer media type for the compression
};

// The whole tree under `dir` (not `dir` itself), e.g. a rootfs for
// `bld import` or the staged files of a COPY into an empty layer.
LayerInfo WriteLayerFromDirectory(const std::string& dir, const LayerWriteOptions& options, const ByteSink& sink);

// The diff recorded in an overlayfs upper directory: the tree under `upperdir`
// where a character device 0/0 is a deleted path (written as `.wh.<name>`)
// and a directory with xattr trusted.overlay.opaque=y hides the lower
// layers' content (written with `.wh..wh..opq`). An upper dir that relies on
// the lower layers for content (overlay redirect_dir or metacopy) is refused:
// mount without those features.
LayerInfo WriteLayerFromOverlayUpper(const std::string& upperdir, const LayerWriteOptions& options,
                                     const ByteSink& sink);

}  // namespace bld::store
