#include "runner/upper_dir_layer.h"

#include <dirent.h>

#include <memory>

#include "runner/interrupt.h"
#include "runner/system_call.h"
#include "store/image.h"

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

store::LayerInfo DiffLayer(const std::string& dir, const store::LayerWriteOptions& options) {
  store::LayerWriteOptions plain = options;
  plain.compression = store::Compression::kNone;
  return store::WriteLayerFromOverlayUpper(dir, plain, [](const void*, size_t) { ThrowIfInterrupted(); });
}

namespace {

// The layer `dir` holds, streamed into the store (store::StoreLayer); stops,
// leaving nothing, when SIGINT or SIGTERM arrives or `each_chunk` throws.
store::LayerInfo StoreTreeLayer(store::Store& store, const std::string& dir, const store::LayerWriteOptions& options,
                                const std::optional<store::Digest>& expected_diff_id,
                                const std::function<void()>& each_chunk) {
  return store::StoreLayer(
      store,
      [&](const store::ByteSink& sink) {
        return store::WriteLayerFromOverlayUpper(dir, options, [&](const void* data, size_t size) {
          ThrowIfInterrupted();
          if (each_chunk) each_chunk();
          sink(data, size);
        });
      },
      expected_diff_id);
}

}  // namespace

std::optional<store::LayerInfo> PromoteUpperDir(store::Store& store, const std::vector<LayerRef>& below,
                                                const std::string& upperdir, const store::LayerWriteOptions& options) {
  if (IsUpperDirEmpty(upperdir)) return std::nullopt;
  store::LayerInfo layer = DiffLayer(upperdir, options);
  Snapshotter(store).Promote(upperdir, below, layer.diff_id);
  return layer;
}

store::LayerInfo StoreSnapshotBlob(store::Store& store, const store::Digest& chain_id, const store::Digest& diff_id,
                                   const store::LayerWriteOptions& options,
                                   const std::function<void()>& each_chunk) {
  Snapshotter snapshotter(store);
  if (!Snapshotter::Exists(store, chain_id))
    throw Error("runner: the layer " + diff_id.str() + " has no blob and its snapshot " + chain_id.str() +
                " is gone; build again with --no-cache");
  return StoreTreeLayer(store, snapshotter.Path(chain_id), options, diff_id, each_chunk);
}

std::optional<store::LayerInfo> CommitUpperDir(store::Store& store, const std::string& upperdir,
                                               const store::LayerWriteOptions& options) {
  if (IsUpperDirEmpty(upperdir)) return std::nullopt;
  return StoreTreeLayer(store, upperdir, options, std::nullopt, nullptr);
}

}  // namespace bld::runner
