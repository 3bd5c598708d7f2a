#include "store/image.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "store/error.h"

namespace bld::store {

namespace {

// Stores a manifest or index and records it with its media type.
Descriptor PutRecorded(Store& store, const std::string& media_type, const std::string& json) {
  BlobInfo blob = store.blobs().Put(json);
  Descriptor desc;
  desc.media_type = media_type;
  desc.digest = blob.digest;
  desc.size = static_cast<int64_t>(json.size());
  store.RecordBlob(desc);
  return desc;
}

constexpr std::string_view kUntaggedRefPrefix = "<none>@";

}  // namespace

std::optional<Platform> ConfigPlatform(const ImageConfig& config) {
  if (config.architecture.empty() || config.os.empty()) return std::nullopt;
  return NormalizePlatform({config.architecture, config.os, config.os_version, config.variant});
}

std::optional<Descriptor> SelectManifest(const ImageIndex& index, const Platform& wanted) {
  std::optional<Descriptor> best;
  size_t best_rank = 0;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform) continue;
    std::optional<size_t> rank = MatchRank(wanted, *d.platform);
    if (rank && (!best || *rank < best_rank)) {
      best = d;
      best_rank = *rank;
    }
  }
  return best;
}

Image ReadImage(const Store& store, const Descriptor& descriptor, const Platform& platform) {
  Descriptor d = descriptor;
  if (IsIndexMediaType(d.media_type)) {
    ImageIndex index = ParseImageIndex(store.blobs().ReadAll(d.digest, kMaxIndexSize), d.digest);
    std::optional<Descriptor> chosen = SelectManifest(index, platform);
    if (!chosen) throw Error("image index " + d.digest.str() + " has no manifest for " + FormatPlatform(platform));
    d = *chosen;
  }
  Image image;
  image.manifest_descriptor = d;
  image.manifest = ParseImageManifest(store.blobs().ReadAll(d.digest, kMaxManifestSize), d.digest);
  image.config = ParseImageConfig(store.blobs().ReadAll(image.manifest.config.digest, kMaxConfigSize),
                                  image.manifest.config.digest);
  if (image.config.rootfs.diff_ids.size() != image.manifest.layers.size())
    throw Error("image " + d.digest.str() + " is inconsistent: its config lists " +
                std::to_string(image.config.rootfs.diff_ids.size()) + " layers, its manifest " +
                std::to_string(image.manifest.layers.size()));
  return image;
}

NamedImage ReadNamedImage(const Store& store, const Descriptor& descriptor, const Platform& platform) {
  NamedImage named;
  if (!IsIndexMediaType(descriptor.media_type)) {
    named.image = ReadImage(store, descriptor, platform);
    named.id = named.image.id();
    return named;
  }
  ImageIndex index = ParseImageIndex(store.blobs().ReadAll(descriptor.digest, kMaxIndexSize), descriptor.digest);
  for (const Descriptor& d : index.manifests)
    if (d.platform && IsManifestMediaType(d.media_type)) named.entries.push_back(d);
  std::optional<Descriptor> chosen = SelectManifest(index, platform);
  if (!chosen && !named.entries.empty()) chosen = named.entries.front();
  if (!chosen) throw Error("image index " + descriptor.digest.str() + " lists no image");
  named.image = ReadImage(store, *chosen, platform);
  named.id = descriptor.digest;
  return named;
}

Descriptor WriteImage(Store& store, const ImageConfig& config, const std::vector<Descriptor>& layers, bool oci,
                      Digest* config_digest) {
  BlobInfo config_blob = store.blobs().Put(Serialize(config));
  if (config_digest) *config_digest = config_blob.digest;
  return WriteManifest(store, config_blob, layers, oci);
}

Descriptor WriteManifest(Store& store, const BlobInfo& config, const std::vector<Descriptor>& layers, bool oci) {
  ImageManifest m;
  m.media_type = std::string(oci ? media_type::kOciManifest : media_type::kDockerManifest);
  m.config.media_type = std::string(oci ? media_type::kOciConfig : media_type::kDockerConfig);
  m.config.digest = config.digest;
  m.config.size = static_cast<int64_t>(config.size);
  for (Descriptor d : layers) {
    if (!oci) {
      if (d.media_type == media_type::kOciLayerZstd)
        throw Error("Docker schema 2 manifests cannot hold zstd layers: use the OCI format or gzip compression");
      if (d.media_type == media_type::kOciLayer) d.media_type = "application/vnd.docker.image.rootfs.diff.tar";
      else if (!d.media_type.starts_with("application/vnd.docker.")) d.media_type = media_type::kDockerLayerGzip;
    }
    m.layers.push_back(d);
  }
  store.RecordBlob(m.config);
  return PutRecorded(store, m.media_type, Serialize(m));
}

Descriptor WriteIndex(Store& store, const std::vector<Descriptor>& manifests, bool oci) {
  ImageIndex index;
  index.media_type = std::string(oci ? media_type::kOciIndex : media_type::kDockerManifestList);
  std::vector<std::string> seen;
  for (const Descriptor& m : manifests) {
    if (!m.platform) throw Error("image index entry " + m.digest.str() + " has no platform");
    std::string platform = FormatPlatform(*m.platform);
    if (std::find(seen.begin(), seen.end(), platform) != seen.end())
      throw Error("two images for " + platform + " in one image index");
    seen.push_back(platform);
    index.manifests.push_back(m);
  }
  return PutRecorded(store, index.media_type, Serialize(index));
}

std::string UntaggedRefName(const Digest& manifest) { return std::string(kUntaggedRefPrefix) + manifest.str(); }

bool IsUntaggedRefName(std::string_view name) { return name.starts_with(kUntaggedRefPrefix); }

LayerInfo StoreLayer(Store& store, const std::function<LayerInfo(const ByteSink&)>& write,
                     const std::optional<Digest>& expected_diff_id) {
  BlobWriter writer = store.blobs().NewWriter();
  LayerInfo info = write([&](const void* data, size_t size) { writer.Write(data, size); });
  if (expected_diff_id && info.diff_id != *expected_diff_id)
    throw Error("store: the layer gives " + info.diff_id.str() + ", not " + expected_diff_id->str() +
                " as recorded");
  writer.Commit(info.digest);
  store.RecordBlob(LayerDescriptor(info));
  store.RecordDiffId(info.diff_id, info.digest);
  return info;
}

Descriptor LayerDescriptor(const LayerInfo& layer) {
  Descriptor d;
  d.media_type = layer.media_type;
  d.digest = layer.digest;
  d.size = static_cast<int64_t>(layer.compressed_size);
  return d;
}

}  // namespace bld::store
