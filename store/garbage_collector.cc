#include "store/garbage_collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "store/error.h"

namespace bld::store {

namespace {

constexpr std::string_view kLockFileName = "gc.lock";
// The lock file holds nothing; only its owner may open it.
constexpr mode_t kLockFileMode = 0600;
// Build cache result records (builder/build_cache.h).
constexpr std::string_view kCacheResultPrefix = "k:";
// What an abandoned unpack is called under snapshots/ (docs/store-format.md);
// the runner's cleanup removes every unlocked directory with this prefix.
constexpr std::string_view kAbandonedSnapshotPrefix = "tmp-";
constexpr std::string_view kSha256Prefix = "sha256:";

std::optional<Digest> ParseDigest(std::string_view text) {
  if (!Digest::Valid(text)) return std::nullopt;
  return Digest::Parse(text);
}

// The blob a record of table blobs is about: the key itself for the store's
// own records, the second component of "<kind>/<digest>/..." for hints.
std::optional<Digest> BlobOfBlobsKey(std::string_view key) {
  if (key.starts_with(kSha256Prefix)) return ParseDigest(key);
  size_t first = key.find('/');
  if (first == std::string_view::npos) return std::nullopt;
  std::string_view rest = key.substr(first + 1);
  return ParseDigest(rest.substr(0, rest.find('/')));
}

// The blob of a diffids key "<diffID>/<blob>".
std::optional<Digest> BlobOfDiffIdsKey(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return ParseDigest(key.substr(slash + 1));
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
std::vector<Digest> SnapshotDirectories(const std::string& snapshots_dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(snapshots_dir.c_str()), ::closedir);
  if (!dir) {
    if (errno == ENOENT) return {};
    throw SysError("prune: cannot list " + snapshots_dir);
  }
  std::vector<Digest> found;
  while (dirent* entry = ::readdir(dir.get())) {
    std::string text = std::string(kSha256Prefix) + entry->d_name;
    if (Digest::Valid(text)) found.push_back(Digest::Parse(text));
  }
  return found;
}

}  // namespace

GcLock::GcLock(const Store& store, Mode mode, const std::function<void()>& on_wait) : mode_(mode) {
  std::string path = store.root() + "/" + std::string(kLockFileName);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kLockFileMode);
  if (fd_ < 0) throw SysError("cannot open the store lock " + path);
  int operation = mode == Mode::kShared ? LOCK_SH : LOCK_EX;
  if (::flock(fd_, operation | LOCK_NB) == 0) return;
  if (errno == EWOULDBLOCK) {
    if (on_wait) on_wait();
    int rc;
    while ((rc = ::flock(fd_, operation)) != 0 && errno == EINTR) {
    }
    if (rc == 0) return;
  }
  int err = errno;
  ::close(fd_);
  throw SysError("cannot lock the store lock " + path, err);
}

GcLock::~GcLock() {
  if (fd_ >= 0) ::close(fd_);
}

GcLock::GcLock(GcLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)), mode_(other.mode_) {}

uint64_t PruneReport::reclaimed_bytes() const {
  uint64_t total = snapshot_bytes;
  for (const BlobInfo& b : blobs) total += b.size;
  for (const IngestFile& f : ingest_leftovers) total += f.size;
  return total;
}

std::set<Digest> LiveBlobs(const Store& store, const std::vector<Descriptor>& images_in_use) {
  std::set<Digest> live;
  for (const Descriptor& image : images_in_use) {
    std::vector<Descriptor> closure;
    try {
      closure = store.Closure(image);
    } catch (const Error& e) {
      throw Error("cannot tell which blobs the image " + image.digest.str() +
                  " (used by a container) needs, so nothing may be removed: " + e.what() +
                  " (`bld check` lists what is damaged)");
    }
    for (const Descriptor& d : closure) live.insert(d.digest);
  }
  for (const auto& [name, descriptor] : store.ListRefs()) {
    std::vector<Descriptor> closure;
    try {
      closure = store.Closure(descriptor);
    } catch (const Error& e) {
      throw Error("cannot tell which blobs the image " + name + " needs, so nothing may be removed: " + e.what() +
                  " (`bld check` lists what is damaged)");
    }
    for (const Descriptor& d : closure) live.insert(d.digest);
  }

  std::vector<std::string> records;
  store.meta().Read([&](const ReadTxn& txn) {
    txn.Scan(Table::kCache, kCacheResultPrefix,
             [&](std::string_view, std::string_view value) { records.emplace_back(value); });
  });
  for (const std::string& record : records) {
    // A record this code cannot read is one the builder cannot use either
    // (it treats it as a miss), so it keeps nothing alive.
    nlohmann::json j = nlohmann::json::parse(record, nullptr, false);
    if (!j.is_object() || !j.contains("layers") || !j["layers"].is_array()) continue;
    for (const nlohmann::json& layer : j["layers"]) {
      if (!layer.is_object() || !layer.contains("digest") || !layer["digest"].is_string()) continue;
      if (std::optional<Digest> d = ParseDigest(layer["digest"].get<std::string>())) live.insert(*d);
    }
  }
  return live;
}

PruneReport Prune(Store& store, const GcLock& lock, const std::set<Digest>& snapshots_in_use,
                  const std::vector<Descriptor>& images_in_use) {
  if (lock.mode() != GcLock::Mode::kExclusive)
    throw Error("prune: the store lock must be held exclusively while blobs are removed");
  PruneReport report;
  std::set<Digest> live = LiveBlobs(store, images_in_use);

  std::vector<BlobInfo> dead;
  for (const Digest& d : store.blobs().List()) {
    if (live.count(d)) continue;
    std::optional<uint64_t> size = store.blobs().Size(d);
    if (size) dead.push_back({d, *size});
  }

  // Records first: a record never names a missing blob, even if the removal
  // of the files below is cut short.
  std::vector<std::pair<Table, std::string>> doomed_records;
  store.meta().Read([&](const ReadTxn& txn) {
    auto collect = [&](Table table, auto blob_of_key) {
      txn.Scan(table, "", [&](std::string_view key, std::string_view) {
        std::optional<Digest> blob = blob_of_key(key);
        if (blob && !live.count(*blob)) doomed_records.emplace_back(table, std::string(key));
      });
    };
    collect(Table::kBlobs, BlobOfBlobsKey);
    collect(Table::kDiffIds, BlobOfDiffIdsKey);
    collect(Table::kBlobDiffIds, ParseDigest);
    txn.Scan(Table::kSnapshots, "", [&](std::string_view key, std::string_view) {
      std::optional<Digest> chain_id = ParseDigest(key);
      if (!chain_id || !snapshots_in_use.count(*chain_id)) doomed_records.emplace_back(Table::kSnapshots, key);
    });
  });
  if (!doomed_records.empty()) {
    store.meta().Write([&](WriteTxn& txn) {
      for (const auto& [table, key] : doomed_records) txn.Del(table, key);
    });
  }
  report.records = doomed_records.size();

  for (const BlobInfo& blob : dead)
    if (store.blobs().Remove(blob.digest)) report.blobs.push_back(blob);
  report.ingest_leftovers = store.blobs().RemoveIngestLeftovers();

  for (const Digest& chain_id : SnapshotDirectories(store.snapshots_dir())) {
    if (snapshots_in_use.count(chain_id)) continue;
    std::string path = store.snapshots_dir() + "/" + std::string(chain_id.hex());
    std::string retired =
        store.snapshots_dir() + "/" + std::string(kAbandonedSnapshotPrefix) + std::string(chain_id.hex());
    uint64_t size = TreeSize(path);
    // A retired name left by a prune that died is abandoned for sure: the
    // runner's own unpacks have shorter names.
    std::error_code ec;
    std::filesystem::remove_all(retired, ec);
    if (ec) throw Error("prune: cannot remove the snapshot " + retired + ": " + ec.message());
    if (::rename(path.c_str(), retired.c_str()) != 0) {
      if (errno == ENOENT) continue;
      throw SysError("prune: cannot retire the snapshot " + path);
    }
    std::filesystem::remove_all(retired, ec);
    if (ec) throw Error("prune: cannot remove the snapshot " + retired + ": " + ec.message());
    report.snapshots.push_back(chain_id);
    report.snapshot_bytes += size;
  }
  return report;
}

}  // namespace bld::store
