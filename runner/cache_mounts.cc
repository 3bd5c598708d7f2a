#include "runner/cache_mounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "runner/interrupt.h"
#include "store/digest.h"

namespace bld::runner {

namespace {

namespace fs = std::filesystem;

constexpr mode_t kLockFileMode = 0600;
constexpr const char* kIdFile = "id";
constexpr const char* kLockSuffix = ".lock";
// An instance is made under a temporary name and renamed into place, so
// that no one sees it before its owner and mode are set.
constexpr const char* kNewInstanceSuffix = ".new";
// Ids are what the Dockerfile says; a long one must not make a path too long.
constexpr size_t kMaxIdLength = 4096;

std::string IdKey(const std::string& id) { return std::string(store::Sha256::Of(id).hex()); }

UniqueFd OpenLockFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kLockFileMode));
  if (!fd) throw RunnerSysError("open the cache lock " + path);
  return fd;
}

// Waits for the lock; Ctrl-C (which interrupts the wait) stops the build.
void Lock(int fd, int operation, const std::string& what) {
  while (::flock(fd, operation) != 0) {
    if (errno != EINTR) throw RunnerSysError("lock " + what);
    ThrowIfInterrupted();
  }
}

bool TryLock(int fd, int operation, const std::string& what) {
  if (::flock(fd, operation | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  throw RunnerSysError("lock " + what);
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void MakeDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) throw RunnerSysError("create directory " + path);
}

// Makes instance `path` with `owner`, unless it exists already; true when
// this call made it.
bool CreateInstance(const std::string& path, const CacheOwner& owner) {
  std::string temporary = path + kNewInstanceSuffix + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(temporary, ec);
  MakeDirectory(temporary, 0700);
  CheckSys(::chown(temporary.c_str(), owner.uid, owner.gid), "set the owner of cache " + path);
  // After chown, which may clear the setgid bit.
  CheckSys(::chmod(temporary.c_str(), owner.mode), "set the mode of cache " + path);
  if (::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) return true;
  int err = errno;
  fs::remove_all(temporary, ec);
  if (err == EEXIST) return false;
  throw RunnerSysError("create cache " + path, err);
}

uint64_t TreeSize(const std::string& path) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec) && !it->is_symlink(size_ec)) total += it->file_size(size_ec);
  }
  return total;
}

std::string ReadId(const std::string& dir) {
  std::string id;
  if (!ReadRegularFile(dir + "/" + kIdFile, kMaxIdLength, id)) return "";
  return id;
}

CacheMountInfo Describe(const std::string& dir, const std::string& id, bool in_use) {
  CacheMountInfo info;
  info.id = id;
  info.in_use = in_use;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos || !entry.is_directory()) continue;
    ++info.instances;
    info.size += TreeSize(entry.path().string());
  }
  return info;
}

}  // namespace

CacheMounts::CacheMounts(const store::Store& store) : dir_(store.cache_mounts_dir()) {}

CacheLease CacheMounts::Acquire(const std::string& id, CacheSharing sharing, const CacheOwner& owner) {
  if (id.empty()) throw Error("runner: a cache mount needs an id (or a target)");
  if (id.size() > kMaxIdLength) throw Error("runner: the cache id is longer than " + std::to_string(kMaxIdLength));
  std::string key = IdKey(id);
  std::string dir = dir_ + "/" + key;
  UniqueFd id_lock = OpenLockFile(dir + kLockSuffix);
  Lock(id_lock.get(), LOCK_SH, "cache " + id);
  MakeDirectory(dir, 0700);
  if (ReadId(dir).empty()) WriteFileWithMode(dir + "/" + kIdFile, id, 0600);

  for (size_t n = 0;; ++n) {
    std::string path = dir + "/" + std::to_string(n);
    UniqueFd lock = OpenLockFile(path + kLockSuffix);
    std::string what = "cache " + id;
    if (sharing == CacheSharing::kPrivate) {
      if (!TryLock(lock.get(), LOCK_EX, what)) continue;
      bool fresh = CreateInstance(path, owner);
      return CacheLease(std::move(id_lock), std::move(lock), path, fresh);
    }
    // Instance 0 for shared and locked: made, if missing, under an
    // exclusive lock that its first step keeps.
    if (!IsDirectory(path)) {
      Lock(lock.get(), LOCK_EX, what);
      if (CreateInstance(path, owner)) return CacheLease(std::move(id_lock), std::move(lock), path, true);
    }
    Lock(lock.get(), sharing == CacheSharing::kShared ? LOCK_SH : LOCK_EX, what);
    return CacheLease(std::move(id_lock), std::move(lock), path, false);
  }
}

std::vector<CacheMountInfo> CacheMounts::List() const {
  std::vector<CacheMountInfo> caches;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (!entry.is_directory()) continue;
    std::string dir = entry.path().string();
    std::string id = ReadId(dir);
    if (id.empty()) continue;
    UniqueFd lock = OpenLockFile(dir + kLockSuffix);
    bool in_use = !TryLock(lock.get(), LOCK_EX, "cache " + id);
    caches.push_back(Describe(dir, id, in_use));
  }
  std::sort(caches.begin(), caches.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return caches;
}

CacheMountInfo CacheMounts::Remove(const std::string& id) {
  std::string dir = dir_ + "/" + IdKey(id);
  if (!IsDirectory(dir) || ReadId(dir).empty()) throw Error("no cache mount with id " + id);
  UniqueFd lock = OpenLockFile(dir + kLockSuffix);
  if (!TryLock(lock.get(), LOCK_EX, "cache " + id))
    throw Error("cache mount " + id + " is in use by a running build; try again when it ends");
  CacheMountInfo info = Describe(dir, id, false);
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) throw Error("remove cache mount " + id + ": " + ec.message());
  return info;
}

std::vector<CacheMountInfo> CacheMounts::Prune() {
  std::vector<CacheMountInfo> removed;
  for (const CacheMountInfo& cache : List()) {
    if (cache.in_use) continue;
    try {
      removed.push_back(Remove(cache.id));
    } catch (const Error&) {
      // Leased since it was listed: it stays, as a cache in use does.
    }
  }
  return removed;
}

}  // namespace bld::runner
