#include "builder/stat_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "store/error.h"
#include "store/unique_fd.h"

namespace bld::builder {

namespace {

int64_t Nanos(const struct timespec& ts) { return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec; }

// "dev ino size mtime_ns ctime_ns sha256hex path": the path is last so that
// spaces in it need no escaping, and is checked to rule out hash collisions.
std::string Encode(const std::string& path, const struct stat& st, const store::Digest& d) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%llu %llu %lld %lld %lld %s ", static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino), static_cast<long long>(st.st_size),
                static_cast<long long>(Nanos(st.st_mtim)), static_cast<long long>(Nanos(st.st_ctim)),
                std::string(d.hex()).c_str());
  return buf + path;
}

constexpr size_t kReadChunk = 1 << 20;

}  // namespace

StatCache::StatCache(store::MetaStore& meta)
    : meta_(meta),
      opened_at_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()) {}

std::string StatCache::Key(const std::string& path) { return std::string(store::Sha256::Of(path).hex()); }

std::optional<store::Digest> StatCache::Lookup(const std::string& path, const struct stat& st) {
  std::optional<std::string> rec =
      meta_.Read([&](store::ReadTxn& t) { return t.Get(store::Table::kStatCache, Key(path)); });
  if (!rec) return std::nullopt;
  unsigned long long dev, ino;
  long long size, mtime, ctime;
  char hex[65];
  int consumed = 0;
  if (std::sscanf(rec->c_str(), "%llu %llu %lld %lld %lld %64s %n", &dev, &ino, &size, &mtime, &ctime, hex,
                  &consumed) != 6)
    return std::nullopt;
  bool same = dev == st.st_dev && ino == st.st_ino && size == st.st_size && mtime == Nanos(st.st_mtim) &&
              ctime == Nanos(st.st_ctim) && rec->compare(static_cast<size_t>(consumed), std::string::npos, path) == 0;
  if (!same || !store::Digest::Valid(std::string("sha256:") + hex)) return std::nullopt;
  return store::Digest::FromHex(hex);
}

void StatCache::Remember(const std::string& path, const struct stat& st, const store::Digest& digest) {
  // A file modified in the same tick as this build started could change
  // again without its mtime moving: do not vouch for it.
  if (Nanos(st.st_mtim) >= opened_at_ns_ || Nanos(st.st_ctim) >= opened_at_ns_) return;
  std::lock_guard lock(mu_);
  pending_.emplace_back(Key(path), Encode(path, st, digest));
}

void StatCache::Flush() {
  std::vector<std::pair<std::string, std::string>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  // Records a rebuild finds unchanged are not written again: an LMDB commit
  // costs two fdatasyncs, more than the rest of a warm rebuild.
  meta_.Read([&](store::ReadTxn& t) {
    std::erase_if(batch, [&](const auto& kv) { return t.Get(store::Table::kStatCache, kv.first) == kv.second; });
  });
  if (batch.empty()) return;
  meta_.Write([&](store::WriteTxn& t) {
    for (const auto& [k, v] : batch) t.Put(store::Table::kStatCache, k, v);
  });
}

store::Digest StatCache::FileDigest(const std::string& path, const struct stat& st) {
  if (auto d = Lookup(path, st)) return *d;
  store::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) throw SysError("cannot read build context file " + path);
  store::Sha256 h;
  std::vector<char> buf(kReadChunk);
  for (;;) {
    ssize_t n = read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("cannot read build context file " + path);
    }
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  store::Digest d = h.Finish();
  Remember(path, st, d);
  return d;
}

}  // namespace bld::builder
