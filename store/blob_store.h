// Blobs by digest: layers, configs and manifests as immutable files under
// <root>/blobs/sha256/<hex> (the OCI image layout's naming).
//
// The guarantee: a file under blobs/ always holds exactly the content its name
// says. A write streams into its own file in <root>/ingest/, hashing as it
// goes; on commit the file is fsynced and renamed into blobs/ only if its digest
// is the expected one (or, when none is expected, it is named by the digest it
// has), and the directory is fsynced after the rename. rename(2) is atomic, so
// a reader sees a whole blob or none, and a crash leaves at worst a file in
// ingest/. Content is never trusted on someone's word: writing a blob that
// already exists still hashes what was written and compares it, then skips the
// fsync and rename. Blobs are files, not LMDB values, so that a 1 GiB layer is
// streamed rather than held in memory or inside the index's single write lock.
//
// ingest/ leftovers: each writer holds an flock(2) on its ingest file for its
// whole life, so `bld prune` removes exactly the files of writers that died
// (the kernel drops the lock of a killed process) and never a live download.
//
// Thread safety: BlobStore has no mutable state; any number of threads and
// processes may use one store at once. A BlobWriter or BlobReader belongs to
// one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/digest.h"

namespace bld::store {

struct BlobInfo {
  Digest digest;
  uint64_t size = 0;
};

// A file in ingest/ that no live writer owns.
struct IngestFile {
  std::string path;
  uint64_t size = 0;
};

// Streams one blob into ingest/. Destroying a writer that was not committed
// removes its ingest file.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&& other) noexcept;
  BlobWriter& operator=(BlobWriter&& other) noexcept;
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  ~BlobWriter();

  void Write(const void* data, size_t size);
  void Write(std::string_view data) { Write(data.data(), data.size()); }
  // Bytes written so far.
  uint64_t size() const { return size_; }

  // Makes the blob visible under its digest. Throws, leaving nothing behind in
  // blobs/ or ingest/, if `expected` is given and the content does not match.
  BlobInfo Commit(const std::optional<Digest>& expected = std::nullopt);

 private:
  friend class BlobStore;
  BlobWriter(std::string blob_dir, std::string ingest_path, int fd);
  void Discard() noexcept;

  std::string blob_dir_;
  std::string ingest_path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  Sha256 hash_;
};

// A blob opened for reading; owns the file descriptor.
class BlobReader {
 public:
  BlobReader(BlobReader&& other) noexcept;
  BlobReader& operator=(BlobReader&& other) noexcept;
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;
  ~BlobReader();

  // Reads up to `size` bytes; returns 0 at the end of the blob.
  size_t Read(void* data, size_t size);
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }

 private:
  friend class BlobStore;
  BlobReader(int fd, uint64_t size, std::string path);

  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

class BlobStore {
 public:
  // Creates <root>/blobs/sha256 and <root>/ingest if they are missing.
  explicit BlobStore(std::string root);

  const std::string& root() const { return root_; }
  std::string Path(const Digest& digest) const;

  BlobWriter NewWriter() const;
  // A blob small enough to be in memory already (configs, manifests). Writes
  // nothing when the blob exists.
  BlobInfo Put(std::string_view data, const std::optional<Digest>& expected = std::nullopt) const;

  bool Exists(const Digest& digest) const;
  std::optional<uint64_t> Size(const Digest& digest) const;
  // Throws if the blob is not in the store.
  BlobReader Open(const Digest& digest) const;
  // The whole blob, for JSON documents: refuses a blob over max_size before
  // reading it, and checks the content against the digest since the bytes are
  // in memory anyway.
  std::string ReadAll(const Digest& digest, size_t max_size) const;
  // Returns false if the blob was not there.
  bool Remove(const Digest& digest) const;
  // Hashes the blob again; false if its content no longer matches its name
  // (disk corruption or tampering; what `bld check` looks for).
  bool Verify(const Digest& digest) const;
  // Every blob in the store, sorted. Names that are not digests are skipped.
  std::vector<Digest> List() const;

  // Files in ingest/ left by writers that died.
  std::vector<IngestFile> ListIngestLeftovers() const;
  // Removes them and returns what was removed.
  std::vector<IngestFile> RemoveIngestLeftovers() const;

 private:
  std::vector<IngestFile> ScanIngest(bool remove) const;

  std::string root_;
  std::string blob_dir_;
  std::string ingest_dir_;
};

}  // namespace bld::store
