// Lazy layers: layers of an image whose blob is not written yet.
//
// A build step's layer is its snapshot (the promoted upper dir) and its
// diffID; compressing it into a blob costs seconds per 100 MB and only a
// push, a save or an export needs the blob. So a built image may name a
// layer by a descriptor of its uncompressed tar (digest = diffID, size =
// the tar's size) whose blob is absent, annotated with what the blob is to
// be when it is written:
//
//   "dev.bld.lazy": "gzip" | "zstd" | "uncompressed"   the compression asked
//   "dev.bld.source-date-epoch": "<seconds>"            the time clamp the
//                                                       diffID was made with
//
// Such a layer is present when a snapshot holds it (snapshots/<chain ID>,
// or snapshots/<diffID> for a layer made apart from its base) or a blob of
// the same diffID is in the store. A manifest naming lazy layers is a lazy
// manifest; a ref may point at it (Store::PutRef checks the snapshots), and
// the first push or save completes it: the blobs are written from the
// snapshots and the refs repointed to a manifest naming them
// (builder/lazy_images.h). The image ID, the config's digest, is the same
// before and after. docs/store-format.md, "Lazy images".
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/digest.h"
#include "store/layer_writer.h"
#include "store/oci.h"

namespace bld::store {

class Store;

inline constexpr std::string_view kAnnotationLazy = "dev.bld.lazy";
inline constexpr std::string_view kAnnotationSourceDateEpoch = "dev.bld.source-date-epoch";

// Whether `layer` is a lazy layer descriptor (it has the annotation).
bool IsLazyLayer(const Descriptor& layer);

// The descriptor of the layer `diff_id` (a tar of `size` bytes) whose blob
// is to be written later as `options` say.
Descriptor LazyLayerDescriptor(const Digest& diff_id, int64_t size, const LayerWriteOptions& options);

// `layer` without its lazy annotations: the descriptor of its blob once the
// blob is written (an uncompressed layer's blob has the same digest).
Descriptor LayerBlobDescriptor(const Descriptor& layer);

// How a lazy layer's blob is to be written: its compression and time clamp,
// from the annotations (the compression's level from `base`). Throws
// bld::Error for an annotation bld did not write.
LayerWriteOptions LazyLayerOptions(const Descriptor& layer, const LayerWriteOptions& base = {});

// The OCI chain ID of each layer of the stack `diff_ids`, base first:
// chainID(L0) = diffID(L0), chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids);

// The snapshot directory of `chain_id` in `store` (owned by runner/).
std::string SnapshotPath(const Store& store, const Digest& chain_id);

// The snapshot holding the files of layer `diff_id` at `chain_id`: that
// one, else the layer's own (chain ID = diffID); nullopt when neither is.
std::optional<Digest> SnapshotHolding(const Store& store, const Digest& chain_id, const Digest& diff_id);

// Why the image `manifest` (config `config`) cannot be used, if one of its
// lazy layers has neither a snapshot nor a blob of its diffID; nullopt when
// each can be had. Layers that are not lazy are not looked at.
std::optional<std::string> MissingLazyLayer(const Store& store, const ImageManifest& manifest,
                                            const ImageConfig& config);

// Whether `manifest` names a lazy layer whose blob is not in `store`.
bool HasLazyLayers(const Store& store, const ImageManifest& manifest);

}  // namespace bld::store
