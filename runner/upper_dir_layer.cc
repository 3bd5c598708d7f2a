#include "runner/upper_dir_layer.h"

#include <dirent.h>

#include <memory>

#include "runner/interrupt.h"
#include "runner/system_call.h"

namespace bld::runner {

bool IsUpperDirEmpty(const std::string& upperdir) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(upperdir.c_str()), ::closedir);
  if (!dir) throw RunnerSysError("open the upper directory " + upperdir);
  while (dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") return false;
  }
  return true;
}

std::optional<store::LayerInfo> CommitUpperDir(store::Store& store, const std::string& upperdir,
                                               const store::LayerWriteOptions& options) {
  if (IsUpperDirEmpty(upperdir)) return std::nullopt;
  store::BlobWriter writer = store.blobs().NewWriter();
  store::LayerInfo layer = store::WriteLayerFromOverlayUpper(upperdir, options, [&](const void* data, size_t size) {
    ThrowIfInterrupted();
    writer.Write(data, size);
  });
  writer.Commit(layer.digest);
  store::Descriptor descriptor;
  descriptor.media_type = layer.media_type;
  descriptor.digest = layer.digest;
  descriptor.size = static_cast<int64_t>(layer.compressed_size);
  store.RecordBlob(descriptor);
  store.RecordDiffId(layer.diff_id, layer.digest);
  return layer;
}

}  // namespace bld::runner
