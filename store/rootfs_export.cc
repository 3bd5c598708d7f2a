#include "store/rootfs_export.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "store/error.h"
#include "store/image.h"
#include "store/layer_applier.h"
#include "store/layer_writer.h"

namespace bld::store {

namespace {

// A directory made under a parent, removed with its content when destroyed.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& parent) : path_(parent + "/rootfs-export-XXXXXX") {
    if (!::mkdtemp(path_.data())) throw SysError("cannot create a scratch directory in " + parent);
  }
  ~ScratchDir() {
    std::error_code ignored;  // a leftover in the store's tmp/ harms nothing
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::vector<std::string> ExportRootfs(const Store& store, const Descriptor& image, const std::string& dir) {
  Image read = ReadImage(store, image);
  const std::vector<Digest>& diff_ids = read.config.rootfs.diff_ids;
  if (diff_ids.size() != read.manifest.layers.size())
    throw Error("image " + read.id().str() + " lists " + std::to_string(diff_ids.size()) + " diffIDs for " +
                std::to_string(read.manifest.layers.size()) + " layers");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create the directory " + dir + ": " + ec.message());
  std::vector<std::string> warnings;
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    const Descriptor& layer = read.manifest.layers[i];
    BlobReader reader = store.blobs().Open(layer.digest);
    ApplyResult applied;
    try {
      applied = ApplyLayer([&](void* data, size_t size) { return reader.Read(data, size); }, dir);
    } catch (const Error& e) {
      throw Error("cannot write layer " + layer.digest.str() + " into " + dir + ": " + e.what());
    }
    if (applied.diff_id != diff_ids[i])
      throw Error("layer " + layer.digest.str() + " holds " + applied.diff_id.str() + ", not " + diff_ids[i].str() +
                  " as the image config says (`bld check` looks for damage)");
    warnings.insert(warnings.end(), applied.warnings.begin(), applied.warnings.end());
  }
  return warnings;
}

std::vector<std::string> WriteRootfsTar(const Store& store, const Descriptor& image, const std::string& scratch_dir,
                                        std::optional<int64_t> source_date_epoch, const ByteSink& sink) {
  ScratchDir scratch(scratch_dir);
  std::vector<std::string> warnings = ExportRootfs(store, image, scratch.path());
  LayerWriteOptions options;
  options.compression = Compression::kNone;
  options.source_date_epoch = source_date_epoch;
  WriteLayerFromDirectory(scratch.path(), options, sink);
  return warnings;
}

}  // namespace bld::store
