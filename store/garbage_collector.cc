#include "store/garbage_collector.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

// Adds the closure of `image` to `live`; `who` names the image in errors.
void AddClosure(const Store& store, const Descriptor& image, const std::string& who, std::set<Digest>& live) {
  std::vector<Descriptor> closure;
  try {
    closure = store.Closure(image);
  } catch (const Error& e) {
    throw Error("cannot tell which blobs the image " + who + " needs, so nothing may be removed: " + e.what() +
                " (`bld check` lists what is damaged)");
  }
  for (const Descriptor& d : closure) live.insert(d.digest);
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

GcRoots CollectRoots(const Store& store, const std::vector<GcParticipant*>& participants) {
  GcRoots roots;
  for (const GcParticipant* participant : participants) participant->AddRoots(store, roots);
  return roots;
}

std::set<Digest> LiveBlobs(const Store& store, const GcRoots& roots) {
  std::set<Digest> live = roots.blobs;
  for (const GcRoots::Image& image : roots.images)
    AddClosure(store, image.manifest, image.manifest.digest.str() + " (used by " + image.user + ")", live);
  for (const auto& [name, descriptor] : store.ListRefs()) AddClosure(store, descriptor, name, live);
  return live;
}

PruneReport Prune(Store& store, const GcLock& lock, const std::vector<GcParticipant*>& participants) {
  if (lock.mode() != GcLock::Mode::kExclusive)
    throw Error("prune: the store lock must be held exclusively while blobs are removed");
  PruneReport report;
  GcRoots roots = CollectRoots(store, participants);
  std::set<Digest> live = LiveBlobs(store, roots);

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

  for (GcParticipant* participant : participants) participant->Sweep(store, roots, report);
  return report;
}

}  // namespace bld::store
