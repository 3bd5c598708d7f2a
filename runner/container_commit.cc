#include "runner/container_commit.h"

#include <chrono>

#include "runner/upper_dir_layer.h"
#include "store/image.h"
#include "store/timestamp.h"

namespace bld::runner {

namespace {

store::Image BaseImage(const store::Store& store, const ContainerRecord& record) {
  store::Digest manifest = store::Digest::Parse(record.image_manifest);
  std::optional<store::Descriptor> descriptor = store.BlobRecord(manifest);
  if (!descriptor)
    throw Error("commit " + record.id + ": its image " + record.image + " (" + manifest.str() +
                ") is no longer in the store");
  return store::ReadImage(store, *descriptor);
}

// What docker shows as a committed layer's CREATED BY: the container's command.
std::string CommandLine(const ContainerRecord& record) {
  std::string line;
  for (const std::string& arg : record.run.argv) line += (line.empty() ? "" : " ") + arg;
  return line;
}

}  // namespace

store::ImageConfig BaseImageConfig(const store::Store& store, const ContainerRecord& record) {
  return BaseImage(store, record).config;
}

store::Descriptor CommitContainer(store::Store& store, const ContainerRecord& record, store::ImageConfig config,
                                  const CommitOptions& options) {
  store::Image base = BaseImage(store, record);
  store::LayerWriteOptions layer_options;
  layer_options.source_date_epoch = options.source_date_epoch;
  std::optional<store::LayerInfo> layer =
      CommitUpperDir(store, ContainerDir(store, record.id) + "/upper", layer_options);
  std::vector<store::Descriptor> layers = base.manifest.layers;
  std::string now = store::FormatTimestamp(options.source_date_epoch
                                               ? std::chrono::system_clock::time_point(
                                                     std::chrono::seconds(*options.source_date_epoch))
                                               : std::chrono::system_clock::now());
  store::HistoryEntry entry;
  entry.created = now;
  entry.created_by = CommandLine(record);
  entry.author = options.author;
  entry.comment = options.message;
  entry.empty_layer = !layer;
  if (layer) {
    layers.push_back(store::LayerDescriptor(*layer));
    config.rootfs.diff_ids.push_back(layer->diff_id);
  }
  config.history.push_back(entry);
  config.created = now;
  if (!options.author.empty()) config.author = options.author;
  bool oci = base.manifest_descriptor.media_type != store::media_type::kDockerManifest;
  return store::WriteImage(store, config, layers, oci);
}

}  // namespace bld::runner
