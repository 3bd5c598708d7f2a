#include "store/lazy_layer.h"

#include <sys/stat.h>

#include <charconv>

#include "store/error.h"
#include "store/store.h"

namespace bld::store {

namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

bool IsLazyLayer(const Descriptor& layer) { return layer.annotations.count(std::string(kAnnotationLazy)) > 0; }

Descriptor LazyLayerDescriptor(const Digest& diff_id, int64_t size, const LayerWriteOptions& options) {
  Descriptor d;
  d.media_type = std::string(media_type::kOciLayer);
  d.digest = diff_id;
  d.size = size;
  d.annotations[std::string(kAnnotationLazy)] =
      options.compression == Compression::kNone ? "uncompressed" : std::string(CompressionName(options.compression));
  if (options.source_date_epoch)
    d.annotations[std::string(kAnnotationSourceDateEpoch)] = std::to_string(*options.source_date_epoch);
  return d;
}

Descriptor LayerBlobDescriptor(const Descriptor& layer) {
  Descriptor d = layer;
  d.annotations.erase(std::string(kAnnotationLazy));
  d.annotations.erase(std::string(kAnnotationSourceDateEpoch));
  return d;
}

LayerWriteOptions LazyLayerOptions(const Descriptor& layer, const LayerWriteOptions& base) {
  LayerWriteOptions options = base;
  options.source_date_epoch.reset();
  auto lazy = layer.annotations.find(std::string(kAnnotationLazy));
  std::string compression = lazy == layer.annotations.end() ? "gzip" : lazy->second;
  if (compression == "gzip") options.compression = Compression::kGzip;
  else if (compression == "zstd") options.compression = Compression::kZstd;
  else if (compression == "uncompressed") options.compression = Compression::kNone;
  else throw Error("layer " + layer.digest.str() + ": unknown compression \"" + compression + "\" in its annotation " +
                   std::string(kAnnotationLazy));
  auto epoch = layer.annotations.find(std::string(kAnnotationSourceDateEpoch));
  if (epoch != layer.annotations.end()) {
    int64_t seconds = 0;
    const std::string& text = epoch->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
      throw Error("layer " + layer.digest.str() + ": \"" + text + "\" in its annotation " +
                  std::string(kAnnotationSourceDateEpoch) + " is not a number of seconds");
    options.source_date_epoch = seconds;
  }
  return options;
}

std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> chain;
  chain.reserve(diff_ids.size());
  for (const Digest& diff_id : diff_ids)
    chain.push_back(chain.empty() ? diff_id : Sha256::Of(chain.back().str() + " " + diff_id.str()));
  return chain;
}

std::string SnapshotPath(const Store& store, const Digest& chain_id) {
  return store.snapshots_dir() + "/" + std::string(chain_id.hex());
}

std::optional<Digest> SnapshotHolding(const Store& store, const Digest& chain_id, const Digest& diff_id) {
  if (IsDirectory(SnapshotPath(store, chain_id))) return chain_id;
  if (IsDirectory(SnapshotPath(store, diff_id))) return diff_id;
  return std::nullopt;
}

std::optional<std::string> MissingLazyLayer(const Store& store, const ImageManifest& manifest,
                                            const ImageConfig& config) {
  if (!HasLazyLayers(store, manifest)) return std::nullopt;
  const std::vector<Digest>& diff_ids = config.rootfs.diff_ids;
  if (diff_ids.size() != manifest.layers.size())
    return "the manifest has " + std::to_string(manifest.layers.size()) + " layers but the config lists " +
           std::to_string(diff_ids.size()) + " diffIDs";
  std::vector<Digest> chain = ChainIds(diff_ids);
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const Descriptor& layer = manifest.layers[i];
    if (!IsLazyLayer(layer) || store.blobs().Exists(layer.digest)) continue;
    if (layer.digest != diff_ids[i])
      return "the lazy layer " + layer.digest.str() + " is not the layer " + diff_ids[i].str() + " its config lists";
    if (SnapshotHolding(store, chain[i], diff_ids[i])) continue;
    bool blob = false;
    for (const Digest& d : store.BlobsWithDiffId(diff_ids[i])) blob = blob || store.blobs().Exists(d);
    if (!blob)
      return "the layer " + diff_ids[i].str() + " has no blob yet and its snapshot " + SnapshotPath(store, chain[i]) +
             " is gone";
  }
  return std::nullopt;
}

bool HasLazyLayers(const Store& store, const ImageManifest& manifest) {
  for (const Descriptor& layer : manifest.layers)
    if (IsLazyLayer(layer) && !store.blobs().Exists(layer.digest)) return true;
  return false;
}

}  // namespace bld::store
