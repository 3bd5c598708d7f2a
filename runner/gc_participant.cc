#include "runner/gc_participant.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runner/container_state.h"
#include "runner/snapshotter.h"
#include "runner/step_runner.h"
#include "store/archive_handles.h"
#include "store/error.h"
#include "store/image.h"
#include "store/lazy_layer.h"

namespace bld::runner {

namespace {

// The prefix of an abandoned unpack under snapshots/ (runner/snapshotter.cc
// names its temporary directories so), which RemoveAbandonedUnpacks removes.
constexpr std::string_view kRetiredSnapshotPrefix = "tmp-";
constexpr std::string_view kSha256Prefix = "sha256:";

// The images containers were made from.
std::vector<store::Descriptor> ContainerImages(const store::Store& store) {
  std::vector<store::Descriptor> images;
  for (const ContainerRecord& container : ListRecords(store)) {
    if (!store::Digest::Valid(container.image_manifest)) continue;  // created before its image was resolved
    store::Digest digest = store::Digest::Parse(container.image_manifest);
    if (std::optional<store::Descriptor> manifest = store.BlobRecord(digest)) images.push_back(*manifest);
  }
  return images;
}

// Apparent size of the files under `dir`, hard links counted once.
uint64_t TreeSize(const std::string& dir) {
  uint64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

// The names under snapshots/ that are chain IDs (64 hex digits).
std::vector<store::Digest> SnapshotDirectories(const std::string& snapshots_dir) {
  std::unique_ptr<DIR, store::DirCloser> dir(::opendir(snapshots_dir.c_str()));
  if (!dir) {
    if (errno == ENOENT) return {};
    throw SysError("prune: cannot list " + snapshots_dir);
  }
  std::vector<store::Digest> found;
  while (dirent* entry = ::readdir(dir.get())) {
    std::string text = std::string(kSha256Prefix) + entry->d_name;
    if (store::Digest::Valid(text)) found.push_back(store::Digest::Parse(text));
  }
  return found;
}

// Removes the records of snapshots not in `in_use`, whether or not their
// directory is still there.
void RemoveUnusedRecords(store::Store& store, const std::set<store::Digest>& in_use) {
  std::vector<std::string> doomed;
  store.meta().Read([&](const store::ReadTxn& txn) {
    txn.Scan(store::Table::kSnapshots, "", [&](std::string_view key, std::string_view) {
      if (!store::Digest::Valid(key) || !in_use.count(store::Digest::Parse(key))) doomed.emplace_back(key);
    });
  });
  if (doomed.empty()) return;
  store.meta().Write([&](store::WriteTxn& txn) {
    for (const std::string& key : doomed) txn.Del(store::Table::kSnapshots, key);
  });
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) throw Error("prune: cannot remove the snapshot " + path + ": " + ec.message());
}

// Retires and removes one snapshot directory; false if it was gone already.
bool RemoveSnapshot(const std::string& snapshots_dir, const store::Digest& chain_id) {
  std::string path = snapshots_dir + "/" + std::string(chain_id.hex());
  std::string retired = snapshots_dir + "/" + std::string(kRetiredSnapshotPrefix) + std::string(chain_id.hex());
  // A retired name left by a prune that died is abandoned for sure: the
  // runner's own unpacks have shorter names.
  RemoveTree(retired);
  if (::rename(path.c_str(), retired.c_str()) != 0) {
    if (errno == ENOENT) return false;
    throw SysError("prune: cannot retire the snapshot " + path);
  }
  RemoveTree(retired);
  return true;
}

}  // namespace

std::set<store::Digest> RunnerGcParticipant::SnapshotsInUse(const store::Store& store) {
  std::vector<store::Descriptor> images = ContainerImages(store);
  for (const auto& [ref, descriptor] : store.ListRefs()) images.push_back(descriptor);
  std::set<store::Digest> in_use;
  for (const store::Descriptor& descriptor : images) {
    store::Image image;
    try {
      image = store::ReadImage(store, descriptor);
    } catch (const Error&) {
      continue;  // no image for this platform: none of its layers is unpacked
    }
    for (const store::Digest& chain_id : Snapshotter::ChainIds(image.config.rootfs.diff_ids)) in_use.insert(chain_id);
    // A lazy layer made apart from its base (COPY --link) may be held only
    // by its own snapshot (chain ID = diffID): its blob is written from it.
    for (const store::Descriptor& layer : image.manifest.layers)
      if (store::IsLazyLayer(layer)) in_use.insert(layer.digest);
  }
  return in_use;
}

void RunnerGcParticipant::AddRoots(const store::Store& store, store::GcRoots& roots) const {
  for (const store::Descriptor& image : ContainerImages(store)) roots.images.push_back({image, "a container"});
}

void RunnerGcParticipant::Sweep(store::Store& store, const store::GcRoots& roots, store::PruneReport& report) {
  std::set<store::Digest> in_use = SnapshotsInUse(store);
  in_use.insert(roots.snapshots.begin(), roots.snapshots.end());
  RemoveUnusedRecords(store, in_use);
  for (const store::Digest& chain_id : SnapshotDirectories(store.snapshots_dir())) {
    if (in_use.count(chain_id)) continue;
    uint64_t size = TreeSize(store.snapshots_dir() + "/" + std::string(chain_id.hex()));
    if (!RemoveSnapshot(store.snapshots_dir(), chain_id)) continue;
    report.snapshots.push_back(chain_id);
    report.snapshot_bytes += size;
  }
  std::vector<std::string> dirs = RemoveAbandonedRunnerDirs(store);
  report.leftovers.insert(report.leftovers.end(), dirs.begin(), dirs.end());
}

}  // namespace bld::runner
