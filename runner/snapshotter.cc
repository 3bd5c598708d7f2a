#include "runner/snapshotter.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "runner/interrupt.h"
#include "runner/locked_dir.h"
#include "runner/upper_dir_layer.h"
#include "store/layer_applier.h"
#include "store/lazy_layer.h"

namespace bld::runner {

namespace {

constexpr std::string_view kUnpackPrefix = "tmp-";
// 128 bits: two unpacks never pick the same temporary name.
constexpr size_t kUnpackNameRandomBytes = 16;
// The root of a layer without a "." entry; overlayfs shows the upper dir's
// root anyway, so this only has to let the kernel through.
constexpr mode_t kSnapshotRootMode = 0755;

// The record of table snapshots (docs/store-format.md).
std::string SnapshotRecord(const store::Digest& diff_id, const std::optional<store::Digest>& parent) {
  nlohmann::ordered_json record;
  record["diff_id"] = diff_id.str();
  if (parent) record["parent"] = parent->str();
  return record.dump();
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Makes a finished unpack the snapshot `chain_id`. The rename publishes it
// as complete, so its content must reach the disk first: after a power cut,
// a name under snapshots/ must not lead to a half-written layer. If another
// process finished the same layer first, ours is removed when `unpack` goes
// out of scope and theirs is used.
void Publish(LockedDir& unpack, const store::Digest& chain_id) {
  CheckSys(::syncfs(unpack.fd()), "flush " + unpack.path() + " to disk");
  unpack.RenameNoReplace(std::string(chain_id.hex()));
}

LockedDir NewUnpackDir(const store::Store& store) {
  LockedDir unpack = LockedDir::Create(store.snapshots_dir(), kUnpackPrefix, kUnpackNameRandomBytes);
  CheckSys(::fchmod(unpack.fd(), kSnapshotRootMode), "set the mode of " + unpack.path());
  return unpack;
}

// A layer a pull applies as it downloads; recorded on Commit.
class PulledUnpack : public store::LayerUnpack {
 public:
  PulledUnpack(store::Store& store, store::Digest chain_id, store::Digest diff_id, std::optional<store::Digest> parent)
      : store_(store),
        dir_(NewUnpackDir(store)),
        chain_id_(std::move(chain_id)),
        diff_id_(std::move(diff_id)),
        parent_(std::move(parent)) {}

  const std::string& dir() const override { return dir_.path(); }
  void Commit() override {
    Publish(dir_, chain_id_);
    std::string record = SnapshotRecord(diff_id_, parent_);
    store_.meta().Write([&](store::WriteTxn& txn) { txn.Put(store::Table::kSnapshots, chain_id_.str(), record); });
  }

 private:
  store::Store& store_;
  LockedDir dir_;
  store::Digest chain_id_, diff_id_;
  std::optional<store::Digest> parent_;
};

}  // namespace

std::vector<store::Digest> Snapshotter::ChainIds(const std::vector<store::Digest>& diff_ids) {
  return store::ChainIds(diff_ids);
}

std::string Snapshotter::Path(const store::Digest& chain_id) const { return store::SnapshotPath(store_, chain_id); }

bool Snapshotter::Exists(const store::Store& store, const store::Digest& chain_id) {
  return IsDirectory(store::SnapshotPath(store, chain_id));
}

std::optional<store::Digest> Snapshotter::Holding(const store::Store& store, const store::Digest& chain_id,
                                                  const store::Digest& diff_id) {
  return store::SnapshotHolding(store, chain_id, diff_id);
}

store::Digest Snapshotter::Promote(const std::string& dir, const std::vector<LayerRef>& below,
                                   const store::Digest& diff_id) {
  std::vector<store::Digest> diff_ids;
  for (const LayerRef& layer : below) diff_ids.push_back(layer.diff_id);
  std::optional<store::Digest> parent;
  if (!diff_ids.empty()) parent = ChainIds(diff_ids).back();
  diff_ids.push_back(diff_id);
  store::Digest chain_id = ChainIds(diff_ids).back();
  std::string target = Path(chain_id);
  if (!IsDirectory(target)) {
    // The container wrote through a volatile overlay: its files reach the
    // disk now, before a name under snapshots/ says they are complete.
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw RunnerSysError("open " + dir);
    CheckSys(::syncfs(fd.get()), "flush " + dir + " to disk");
    CheckSys(::fchmod(fd.get(), kSnapshotRootMode), "set the mode of " + dir);
    if (::renameat2(AT_FDCWD, dir.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0 && errno != EEXIST)
      throw RunnerSysError("rename " + dir + " to " + target);
  }
  std::string record = SnapshotRecord(diff_id, parent);
  store_.meta().Write([&](store::WriteTxn& txn) { txn.Put(store::Table::kSnapshots, chain_id.str(), record); });
  return chain_id;
}

std::vector<std::string> Snapshotter::Prepare(const std::vector<LayerRef>& layers) {
  std::vector<store::Digest> diff_ids;
  for (const LayerRef& layer : layers) diff_ids.push_back(layer.diff_id);
  std::vector<store::Digest> chain = ChainIds(diff_ids);

  std::vector<bool> recorded = store_.meta().Read([&](store::ReadTxn& txn) {
    std::vector<bool> found;
    for (const store::Digest& id : chain) found.push_back(txn.Get(store::Table::kSnapshots, id.str()).has_value());
    return found;
  });

  std::vector<std::pair<std::string, std::string>> new_records;
  for (size_t i = 0; i < layers.size(); ++i) {
    bool present = IsDirectory(Path(chain[i]));
    if (!present) Unpack(layers[i], chain[i]);
    // A snapshot without a record was renamed into place by a process that
    // died before recording it (or by a racing one): renamed means complete.
    if (!recorded[i] || !present)
      new_records.emplace_back(chain[i].str(),
                               SnapshotRecord(layers[i].diff_id, i == 0 ? std::nullopt : std::optional(chain[i - 1])));
  }
  if (!new_records.empty()) {
    store_.meta().Write([&](store::WriteTxn& txn) {
      for (const auto& [key, value] : new_records) txn.Put(store::Table::kSnapshots, key, value);
    });
  }

  std::vector<std::string> lowerdirs;
  for (size_t i = chain.size(); i-- > 0;) lowerdirs.push_back(Path(chain[i]));
  return lowerdirs;
}

void Snapshotter::Unpack(const LayerRef& ref, const store::Digest& chain_id) {
  LayerRef layer = ref;
  // A layer whose blob was written after its step (builder/layer_blobs.h)
  // is named by its diffID; its blob is recorded under that diffID.
  if (!store_.blobs().Exists(layer.blob))
    for (const store::Digest& blob : store_.BlobsWithDiffId(layer.diff_id))
      if (store_.blobs().Exists(blob)) layer.blob = blob;
  // A layer whose blob was never written, here at a chain ID it was not
  // made at (COPY --link): its blob comes from the snapshot that holds it.
  if (!store_.blobs().Exists(layer.blob))
    if (std::optional<store::Digest> holding = Holding(store_, chain_id, layer.diff_id))
      layer.blob = StoreSnapshotBlob(store_, *holding, layer.diff_id, {}).digest;
  if (!store_.blobs().Exists(layer.blob))
    throw Error("runner: layer " + layer.diff_id.str() + " cannot be unpacked: its blob " + layer.blob.str() +
                " is not in the store");
  LockedDir unpack = NewUnpackDir(store_);

  store::BlobReader reader = store_.blobs().Open(layer.blob);
  store::ApplyOptions options;
  options.mode = store::ApplyMode::kOverlay;
  store::ApplyResult applied = store::ApplyLayer(
      [&](void* data, size_t size) {
        ThrowIfInterrupted();
        return reader.Read(data, size);
      },
      unpack.path(), options);
  if (applied.diff_id != layer.diff_id)
    throw Error("runner: blob " + layer.blob.str() + " holds the layer " + applied.diff_id.str() + ", not " +
                layer.diff_id.str() + " as the image says");

  Publish(unpack, chain_id);
}

std::unique_ptr<store::LayerUnpack> Snapshotter::PullUnpacks::Begin(const std::vector<store::Digest>& diff_ids,
                                                                    size_t index) {
  store::Digest chain_id = ChainIds(diff_ids).at(index);
  if (Exists(store_, chain_id)) return nullptr;
  std::optional<store::Digest> parent;
  if (index > 0) parent = ChainIds(diff_ids)[index - 1];
  return std::make_unique<PulledUnpack>(store_, chain_id, diff_ids[index], parent);
}

std::vector<std::string> Snapshotter::RemoveAbandonedUnpacks() {
  return RemoveAbandonedDirs(store_.snapshots_dir(), kUnpackPrefix);
}

}  // namespace bld::runner
