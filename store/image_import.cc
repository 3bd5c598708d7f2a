#include "store/image_import.h"

#include <string_view>

#include "store/error.h"
#include "store/layer_reader.h"
#include "store/timestamp.h"

namespace bld::store {

namespace {

std::string_view MediaTypeFor(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return kMediaTypeLayerGzip;
    case Compression::kZstd:
      return kMediaTypeLayerZstd;
    case Compression::kNone:
      return kMediaTypeLayerTar;
    default:
      throw Error("a layer is written with gzip, zstd or no compression, not " +
                  std::string(CompressionName(compression)));
  }
}

// Reads the whole tarball through the layer rules (layer_reader.h), each
// byte checked, hashed and compressed into the layer blob on the way, so the
// layer is exactly the bytes that were checked; the blob is committed only
// if every entry passed.
LayerInfo StoreTarballLayer(Store& store, const ByteSource& tarball, const ImportOptions& options) {
  std::string media_type(MediaTypeFor(options.compression));
  BlobWriter writer = store.blobs().NewWriter();
  Compressor compressor(options.compression, [&writer](const void* data, size_t size) { writer.Write(data, size); });
  LayerSummary summary =
      VerifyLayer(tarball, [&compressor](const void* data, size_t size) { compressor.Write(data, size); });
  compressor.Finish();

  LayerInfo layer;
  layer.diff_id = summary.diff_id;
  layer.uncompressed_size = summary.size;
  layer.compressed_size = writer.size();
  layer.media_type = media_type;
  layer.digest = writer.Commit().digest;
  store.RecordBlob(LayerDescriptor(layer));
  store.RecordDiffId(layer.diff_id, layer.digest);
  return layer;
}

}  // namespace

ImportResult ImportRootfs(Store& store, const ByteSource& tarball, const ImportOptions& options) {
  ImportResult result;
  try {
    result.layer = StoreTarballLayer(store, tarball, options);
  } catch (const Error& e) {
    throw Error("cannot import " + options.source + ": " + e.what());
  }
  std::string created = FormatTimestamp(options.created);
  ImageConfig config;
  config.created = created;
  config.architecture = options.platform.architecture;
  config.os = options.platform.os;
  config.variant = options.platform.variant;
  config.rootfs.diff_ids = {result.layer.diff_id};
  HistoryEntry history;
  history.created = created;
  history.comment = options.message.empty() ? "Imported from " + options.source : options.message;
  config.history.push_back(history);
  result.manifest = WriteImage(store, config, {LayerDescriptor(result.layer)}, options.oci, &result.image_id);
  return result;
}

}  // namespace bld::store
