#include "store/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <system_error>
#include <utility>

#include "store/archive_handles.h"
#include "store/error.h"

namespace bld::store {

namespace {

// Read buffer for hashing and reading blobs: large enough that system calls
// do not dominate, small enough for the stack of any thread.
constexpr size_t kReadChunkSize = 64 * 1024;
// Blobs never change after commit; read-only files make an accidental write
// by a tool fail instead of silently breaking the name = content invariant.
constexpr mode_t kBlobMode = 0444;
// A new ingest file loses its name only if a prune runs in the instant between
// its creation and its lock; giving up after a few such losses turns a
// pathological loop into an error.
constexpr int kIngestCreateAttempts = 8;
// mkstemp(3) replaces exactly these six characters with random ones.
constexpr std::string_view kIngestNameTemplate = "XXXXXX";

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

using DirHandle = std::unique_ptr<DIR, DirCloser>;

void CreateDirectories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw Error("cannot create directory " + path + ": " + ec.message());
}

void FsyncDirectory(const std::string& path) {
  Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) throw SysError("cannot open directory " + path);
  if (::fsync(dir.get()) != 0) throw SysError("cannot fsync directory " + path);
}

// True when `path` still names the file open as `fd`.
bool NamesFile(const std::string& path, int fd) {
  struct stat by_fd, by_path;
  if (::fstat(fd, &by_fd) != 0 || ::stat(path.c_str(), &by_path) != 0) return false;
  return by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

int FlockRetrying(int fd, int operation) {
  int rc;
  do {
    rc = ::flock(fd, operation);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

size_t ReadSome(int fd, void* data, size_t size, const std::string& path) {
  for (;;) {
    ssize_t n = ::read(fd, data, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) throw SysError("cannot read " + path);
  }
}

Error DigestMismatch(const Digest& expected, const Digest& actual, uint64_t size) {
  return Error("blob content does not match its digest: expected " + expected.str() + ", but the " +
               std::to_string(size) + " bytes written hash to " + actual.str());
}

DirHandle OpenDirectory(const std::string& path) {
  DirHandle dir(::opendir(path.c_str()));
  if (!dir) throw SysError("cannot list directory " + path);
  return dir;
}

}  // namespace

// --- BlobWriter ---

BlobWriter::BlobWriter(std::string blob_dir, std::string ingest_path, int fd)
    : blob_dir_(std::move(blob_dir)), ingest_path_(std::move(ingest_path)), fd_(fd) {}

BlobWriter::BlobWriter(BlobWriter&& other) noexcept
    : blob_dir_(std::move(other.blob_dir_)),
      ingest_path_(std::exchange(other.ingest_path_, {})),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_),
      hash_(std::move(other.hash_)) {}

BlobWriter& BlobWriter::operator=(BlobWriter&& other) noexcept {
  if (this != &other) {
    Discard();
    blob_dir_ = std::move(other.blob_dir_);
    ingest_path_ = std::exchange(other.ingest_path_, {});
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    hash_ = std::move(other.hash_);
  }
  return *this;
}

BlobWriter::~BlobWriter() { Discard(); }

// Unlinks before closing: the name may only go away while its lock is held
// (see ScanIngest).
void BlobWriter::Discard() noexcept {
  if (!ingest_path_.empty()) ::unlink(ingest_path_.c_str());
  ingest_path_.clear();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void BlobWriter::Write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("cannot write blob data to " + ingest_path_);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  hash_.Update(data, size);
  size_ += size;
}

BlobInfo BlobWriter::Commit(const std::optional<Digest>& expected) {
  if (fd_ < 0) throw Error("blob writer used after its commit");
  BlobInfo info{hash_.Finish(), size_};
  if (expected && info.digest != *expected) {
    Discard();
    throw DigestMismatch(*expected, info.digest, info.size);
  }
  std::string target = blob_dir_ + "/" + std::string(info.digest.hex());
  struct stat existing;
  if (::stat(target.c_str(), &existing) == 0) {
    // The existing file holds this content (the invariant), and what was
    // written was just hashed to the same digest: nothing to add.
    Discard();
    return info;
  }
  if (::fchmod(fd_, kBlobMode) != 0) throw SysError("cannot make " + ingest_path_ + " read-only");
  // Data first, then the name: otherwise a crash could leave a blob name with
  // missing content behind.
  if (::fsync(fd_) != 0) throw SysError("cannot fsync " + ingest_path_);
  if (::rename(ingest_path_.c_str(), target.c_str()) != 0)
    throw SysError("cannot move " + ingest_path_ + " to " + target);
  ingest_path_.clear();
  Discard();
  FsyncDirectory(blob_dir_);
  return info;
}

// --- BlobReader ---

BlobReader::BlobReader(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}

BlobReader::BlobReader(BlobReader&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), path_(std::move(other.path_)) {}

BlobReader& BlobReader::operator=(BlobReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    path_ = std::move(other.path_);
  }
  return *this;
}

BlobReader::~BlobReader() {
  if (fd_ >= 0) ::close(fd_);
}

size_t BlobReader::Read(void* data, size_t size) { return ReadSome(fd_, data, size, path_); }

// --- BlobStore ---

BlobStore::BlobStore(std::string root)
    : root_(std::move(root)), blob_dir_(root_ + "/blobs/sha256"), ingest_dir_(root_ + "/ingest") {
  CreateDirectories(blob_dir_);
  CreateDirectories(ingest_dir_);
}

std::string BlobStore::Path(const Digest& digest) const { return blob_dir_ + "/" + std::string(digest.hex()); }

BlobWriter BlobStore::NewWriter() const {
  for (int attempt = 0; attempt < kIngestCreateAttempts; ++attempt) {
    std::string path = ingest_dir_ + "/" + std::string(kIngestNameTemplate);
    Fd fd(::mkostemp(path.data(), O_CLOEXEC));
    if (fd.get() < 0) throw SysError("cannot create a file in " + ingest_dir_);
    if (FlockRetrying(fd.get(), LOCK_EX) != 0) {
      int err = errno;
      ::unlink(path.c_str());
      throw SysError("cannot lock " + path, err);
    }
    // A prune that ran between mkstemp and flock took the unlocked file for a
    // leftover and removed it; this one is nameless now, so make another.
    if (NamesFile(path, fd.get())) return BlobWriter(blob_dir_, std::move(path), fd.release());
  }
  throw Error("cannot create an ingest file in " + ingest_dir_ + ": removed by concurrent prunes " +
              std::to_string(kIngestCreateAttempts) + " times in a row");
}

BlobInfo BlobStore::Put(std::string_view data, const std::optional<Digest>& expected) const {
  Digest digest = Sha256::Of(data);
  if (expected && digest != *expected) throw DigestMismatch(*expected, digest, data.size());
  if (Exists(digest)) return BlobInfo{digest, data.size()};
  BlobWriter writer = NewWriter();
  writer.Write(data);
  return writer.Commit(digest);
}

bool BlobStore::Exists(const Digest& digest) const { return Size(digest).has_value(); }

std::optional<uint64_t> BlobStore::Size(const Digest& digest) const {
  struct stat st;
  std::string path = Path(digest);
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw SysError("cannot stat " + path);
  }
  return static_cast<uint64_t>(st.st_size);
}

BlobReader BlobStore::Open(const Digest& digest) const {
  std::string path = Path(digest);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) throw Error("blob " + digest.str() + " is not in the store at " + root_);
    throw SysError("cannot open " + path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw SysError("cannot stat " + path);
  return BlobReader(fd.release(), static_cast<uint64_t>(st.st_size), std::move(path));
}

std::string BlobStore::ReadAll(const Digest& digest, size_t max_size) const {
  BlobReader reader = Open(digest);
  if (reader.size() > max_size)
    throw Error("blob " + digest.str() + " is " + std::to_string(reader.size()) + " bytes, more than the " +
                std::to_string(max_size) + " bytes allowed for reading it into memory");
  std::string data(reader.size(), '\0');
  size_t filled = 0;
  while (filled < data.size()) {
    size_t n = reader.Read(data.data() + filled, data.size() - filled);
    if (n == 0) break;
    filled += n;
  }
  data.resize(filled);
  Digest actual = Sha256::Of(data);
  if (actual != digest)
    throw Error("blob " + digest.str() + " in " + root_ + " is corrupt: its content hashes to " + actual.str() +
                " (run `bld check`)");
  return data;
}

bool BlobStore::Remove(const Digest& digest) const {
  std::string path = Path(digest);
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw SysError("cannot remove " + path);
}

bool BlobStore::Verify(const Digest& digest) const {
  BlobReader reader = Open(digest);
  Sha256 hash;
  auto buffer = std::make_unique<char[]>(kReadChunkSize);
  while (size_t n = reader.Read(buffer.get(), kReadChunkSize)) hash.Update(buffer.get(), n);
  return hash.Finish() == digest;
}

std::vector<Digest> BlobStore::List() const {
  std::vector<Digest> digests;
  DirHandle dir = OpenDirectory(blob_dir_);
  while (const dirent* entry = ::readdir(dir.get())) {
    std::string text = "sha256:" + std::string(entry->d_name);
    if (Digest::Valid(text)) digests.push_back(Digest::Parse(text));
  }
  std::sort(digests.begin(), digests.end());
  return digests;
}

std::vector<IngestFile> BlobStore::ListIngestLeftovers() const { return ScanIngest(false); }

std::vector<IngestFile> BlobStore::RemoveIngestLeftovers() const { return ScanIngest(true); }

// A file is a leftover when nobody holds its lock. Its name is removed only
// while holding that lock and after checking the name still points at the
// locked file: a writer renames or unlinks its file only while holding the
// lock too, so neither side can remove a name the other owns.
std::vector<IngestFile> BlobStore::ScanIngest(bool remove) const {
  std::vector<IngestFile> leftovers;
  DirHandle dir = OpenDirectory(ingest_dir_);
  while (const dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string path = ingest_dir_ + "/" + std::string(name);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (fd.get() < 0) {
      if (errno == ENOENT) continue;  // committed or discarded meanwhile
      throw SysError("cannot open " + path);
    }
    if (FlockRetrying(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) continue;  // a live writer
      throw SysError("cannot lock " + path);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) throw SysError("cannot stat " + path);
    if (!S_ISREG(st.st_mode) || !NamesFile(path, fd.get())) continue;
    if (remove && ::unlink(path.c_str()) != 0 && errno != ENOENT) throw SysError("cannot remove " + path);
    leftovers.push_back(IngestFile{std::move(path), static_cast<uint64_t>(st.st_size)});
  }
  std::sort(leftovers.begin(), leftovers.end(),
            [](const IngestFile& a, const IngestFile& b) { return a.path < b.path; });
  return leftovers;
}

}  // namespace bld::store
