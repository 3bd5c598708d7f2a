// The build-context stat cache: the content sha256 of a context file, reused
// as long as the file's stat says it did not change (as git's index and
// ninja's log do), so a warm rebuild reads no unchanged file.
//
// A record is keyed by the file's absolute path and holds (dev, inode, size,
// mtime_ns, ctime_ns, sha256); it is trusted only when all five stat fields
// match. A file written within the same clock tick as its stat could change
// without its mtime moving ("racy git"), so a record whose mtime is not older
// than the cache's own read time is not trusted: that file is hashed again
// next time. Lookups run in one read transaction per Load; new hashes are
// written in one write transaction by Flush.
//
// Thread-safety: a StatCache belongs to one build; Lookup and Remember may be
// called from several threads (they lock).
#pragma once

#include <sys/stat.h>

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/digest.h"
#include "store/meta_store.h"

namespace bld::builder {

class StatCache {
 public:
  explicit StatCache(store::MetaStore& meta);

  // The file's sha256 if the cache knows it for exactly this stat.
  std::optional<store::Digest> Lookup(const std::string& path, const struct stat& st);
  // Records a freshly computed hash (written by Flush).
  void Remember(const std::string& path, const struct stat& st, const store::Digest& digest);
  // Writes what Remember collected, in one transaction.
  void Flush();

  // The content hash of the regular file at `path` (with stat `st`): from the
  // cache, or read and hashed (and remembered). Throws bld::Error.
  store::Digest FileDigest(const std::string& path, const struct stat& st);

 private:
  struct Record;
  static std::string Key(const std::string& path);

  store::MetaStore& meta_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> pending_;  // key -> record
  int64_t opened_at_ns_;
};

}  // namespace bld::builder
