// An image as the store holds it: a manifest (reached through a ref or a
// digest, and through an index for the wanted platform), its config and its
// layers. Reading one is what `bld run`, `inspect`, `history`, `save`, `push`
// and every FROM start with.
//
// Thread-safety: pure functions over a Store, which is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "store/layer_writer.h"
#include "store/oci.h"
#include "store/platform.h"
#include "store/store.h"

namespace bld::store {

struct Image {
  Descriptor manifest_descriptor;  // the image manifest (not the index)
  ImageManifest manifest;
  ImageConfig config;
  Digest id() const { return manifest.config.digest; }  // Docker's image ID
};

// The platform an image's config names (normalized), or nullopt when it
// names none (no architecture or os).
std::optional<Platform> ConfigPlatform(const ImageConfig& config);

// The entry of `index` to use for `wanted`: the best match by MatchRank
// (store/platform.h), the first of equals; entries without a platform (such
// as attestations) are never picked. nullopt when none can run there.
std::optional<Descriptor> SelectManifest(const ImageIndex& index, const Platform& wanted);

// Reads the image `descriptor` names. For an index or manifest list, picks
// the manifest for `platform` with SelectManifest.
// Throws bld::Error naming what is missing or malformed.
Image ReadImage(const Store& store, const Descriptor& descriptor, const Platform& platform = HostPlatform());

// What a ref names, as `bld images`, `inspect` and image ID lookups show
// it: the image for `platform`, or for an index without one its first
// entry (a multi-platform image built for other machines is still listed);
// and its ID: the config digest of an image, the digest of an index (as
// Docker's containerd image store shows a multi-platform image, and as
// `bld build --platform a,b` prints it).
struct NamedImage {
  Image image;
  Digest id;
  std::vector<Descriptor> entries;  // an index's manifests; empty for an image
};
NamedImage ReadNamedImage(const Store& store, const Descriptor& descriptor, const Platform& platform = HostPlatform());

// Writes the config and the manifest of an image whose layer blobs are in the
// store already, and returns the manifest's descriptor; refs are the
// caller's. `layers` carry OCI media types; with `oci` false the manifest
// uses Docker schema 2 types (which cannot describe zstd layers).
// `config_digest`, when given, receives the image ID.
Descriptor WriteImage(Store& store, const ImageConfig& config, const std::vector<Descriptor>& layers, bool oci = true,
                      Digest* config_digest = nullptr);

// Writes the manifest of an image whose config and layer blobs are in the
// store already, records both and returns the manifest's descriptor. Unlike
// WriteImage, the config's bytes (and so the image ID) are kept as they are:
// what `bld load` needs for an image whose config came in an archive.
// `layers` and `oci` as for WriteImage.
Descriptor WriteManifest(Store& store, const BlobInfo& config, const std::vector<Descriptor>& layers, bool oci = true);

// Writes an image index (a Docker manifest list with `oci` false) over
// manifests already in the store, each descriptor carrying its platform,
// records it and returns its descriptor: the result of a multi-platform
// build. Throws bld::Error for an entry without a platform or two entries
// for the same platform (a reader could not tell which to pick).
Descriptor WriteIndex(Store& store, const std::vector<Descriptor>& manifests, bool oci = true);

// The ref name that keeps an image without a name: "<none>@<manifest
// digest>". A ref is what prune keeps and what an image ID is looked up in,
// so `bld build` without -t and `bld load` of an untagged image write one;
// `bld images` shows it as REPOSITORY and TAG <none>, as Docker shows its
// dangling images.
std::string UntaggedRefName(const Digest& manifest);
bool IsUntaggedRefName(std::string_view name);


// Streams a layer produced by `write` (a layer_writer.h function given the
// sink) into the blob store, verifies and records it (blob, then diffID).
// If `expected_diff_id` is given and the layer has another one, nothing is
// stored and bld::Error is thrown (a snapshot that no longer gives the layer
// it was recorded as).
LayerInfo StoreLayer(Store& store, const std::function<LayerInfo(const ByteSink&)>& write,
                     const std::optional<Digest>& expected_diff_id = std::nullopt);
// The manifest descriptor of a stored layer.
Descriptor LayerDescriptor(const LayerInfo& layer);

}  // namespace bld::store
