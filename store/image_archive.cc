#include "store/image_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <exception>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "store/archive_handles.h"
#include "store/archive_reader.h"
#include "store/error.h"
#include "store/fd_io.h"
#include "store/image.h"
#include "store/layer_reader.h"
#include "store/quote.h"
#include "store/unique_fd.h"

namespace bld::store {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Blobs stream through buffers of this size.
constexpr size_t kCopyBufferSize = 1 << 20;
constexpr std::string_view kOciLayoutFile = "oci-layout";
constexpr std::string_view kOciIndexFile = "index.json";
constexpr std::string_view kDockerManifestFile = "manifest.json";
constexpr std::string_view kRepositoriesFile = "repositories";
// The only version of the OCI image layout there is.
constexpr std::string_view kOciLayoutVersion = "1.0.0";
constexpr std::string_view kBlobsDir = "blobs/sha256/";
constexpr std::string_view kImageNameAnnotation = "io.containerd.image.name";
constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
constexpr std::string_view kLayerFileName = "layer.tar";
// Linux follows at most 40 symlinks in one lookup (MAXSYMLINKS); so does a
// lookup inside an archive.
constexpr int kMaxLinkHops = 40;
// Tar writers pad an archive to a whole block, at most 10 KiB with the
// usual blocking factor of 20 records. Reading a little past the end lets
// a writer on the other end of a pipe finish without EPIPE; reading without
// a bound would let an endless stream hold `bld load` forever.
constexpr size_t kMaxTrailingBytes = 1 << 20;
// Entry metadata of written archives: fixed, so that the same images give
// the same archive bytes.
constexpr mode_t kFileMode = 0644;
constexpr mode_t kDirectoryMode = 0755;

// `path` resolved lexically against the directory `base` (both relative to
// the archive's root; a `path` starting with '/' starts from the root),
// without "." or empty components; nullopt when ".." climbs above the root.
std::optional<std::string> Normalize(std::string_view base, std::string_view path) {
  std::vector<std::string_view> parts;
  auto add = [&](std::string_view text) {
    while (!text.empty()) {
      size_t slash = text.find('/');
      std::string_view part = text.substr(0, slash);
      text = slash == std::string_view::npos ? std::string_view() : text.substr(slash + 1);
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (parts.empty()) return false;
        parts.pop_back();
      } else {
        parts.push_back(part);
      }
    }
    return true;
  };
  if (!path.starts_with('/') && !add(base)) return std::nullopt;
  if (!add(path)) return std::nullopt;
  std::string out;
  for (std::string_view part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

std::string_view Parent(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

// "repo:tag" -> {repo, tag}; nullopt for a name with a digest instead of a
// tag. The tag's colon comes after the last '/' (a registry may have a port).
std::optional<std::pair<std::string, std::string>> SplitTag(const std::string& familiar) {
  if (familiar.find('@') != std::string::npos) return std::nullopt;
  size_t colon = familiar.rfind(':');
  size_t slash = familiar.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return std::nullopt;
  return std::pair(familiar.substr(0, colon), familiar.substr(colon + 1));
}

std::string LayerMediaType(Compression compression, const std::string& what) {
  switch (compression) {
    case Compression::kNone:
      return std::string(media_type::kOciLayer);
    case Compression::kGzip:
      return std::string(media_type::kOciLayerGzip);
    case Compression::kZstd:
      return std::string(media_type::kOciLayerZstd);
    default:
      throw Error(what + " is compressed with " + std::string(CompressionName(compression)) +
                  ", which an image layer cannot be (tar, gzip or zstd)");
  }
}

// ---------------------------------------------------------------------------
// Writing

// Where a saved archive's entries go: a tar stream, or (an OCI layout with
// tar=false) a directory. Paths are relative, a directory's with a '/'.
class EntryWriter {
 public:
  virtual ~EntryWriter() = default;
  virtual void AddDirectory(const std::string& path) = 0;
  virtual void AddFile(const std::string& path, std::string_view content) = 0;
  // An entry of exactly `size` bytes from `source`; throws if the source
  // gives another count (a tar header is written already).
  virtual void AddStream(const std::string& path, uint64_t size, const ByteSource& source) = 0;
};

// Copies `size` bytes from `source` to `write` through `buffer`; throws if
// the source gives another count.
void CopyExactly(const std::string& path, uint64_t size, const ByteSource& source, std::vector<char>& buffer,
                 const std::function<void(const void*, size_t)>& write) {
  uint64_t total = 0;
  while (size_t n = source(buffer.data(), buffer.size())) {
    total += n;
    if (total > size) break;
    write(buffer.data(), n);
  }
  if (total != size)
    throw Error("the content of " + path + " changed while it was written: " + std::to_string(size) +
                " bytes were expected, " + (total > size ? "more" : std::to_string(total)) + " came");
}

class TarWriter : public EntryWriter {
 public:
  explicit TarWriter(const ByteSink& sink) : sink_(sink), a_(archive_write_new()), buffer_(kCopyBufferSize) {
    if (!a_) throw Error("cannot allocate a libarchive writer");
    // ustar headers, with PAX records only where ustar cannot say it (a
    // layer over 8 GiB): what every reader of image archives accepts.
    Check(archive_write_set_format_pax_restricted(a_.get()), "select the tar format");
    Check(archive_write_open(a_.get(), this, nullptr, &TarWriter::WriteCallback, nullptr), "start the archive");
  }

  // Abandoned without Finish (an error): libarchive flushes what it holds
  // when freed, and none of it may reach the sink.
  ~TarWriter() override { discard_output_ = true; }

  void AddDirectory(const std::string& path) override { WriteHeader(path, AE_IFDIR | kDirectoryMode, 0); }

  void AddFile(const std::string& path, std::string_view content) override {
    WriteHeader(path, AE_IFREG | kFileMode, content.size());
    WriteData(content.data(), content.size(), path);
  }

  void AddStream(const std::string& path, uint64_t size, const ByteSource& source) override {
    WriteHeader(path, AE_IFREG | kFileMode, size);
    CopyExactly(path, size, source, buffer_, [&](const void* data, size_t n) { WriteData(data, n, path); });
  }

  void Finish() { Check(archive_write_close(a_.get()), "finish the archive"); }

 private:
  static la_ssize_t WriteCallback(archive*, void* self, const void* data, size_t size) {
    auto* writer = static_cast<TarWriter*>(self);
    if (writer->discard_output_) return static_cast<la_ssize_t>(size);
    // An exception must not unwind through libarchive's C frames.
    try {
      writer->sink_(data, size);
      return static_cast<la_ssize_t>(size);
    } catch (...) {
      writer->pending_ = std::current_exception();
      return -1;
    }
  }

  void Check(int rc, const std::string& what) {
    if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
    if (rc < ARCHIVE_WARN) {
      const char* detail = archive_error_string(a_.get());
      throw Error("cannot " + what + ": " + (detail ? detail : "unknown libarchive error"));
    }
  }

  void WriteHeader(const std::string& path, unsigned mode, uint64_t size) {
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_copy_pathname(entry.get(), path.c_str());
    archive_entry_set_mode(entry.get(), mode);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), 0, 0);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    Check(archive_write_header(a_.get(), entry.get()), "write the header of " + path);
  }

  void WriteData(const void* data, size_t size, const std::string& path) {
    la_ssize_t n = archive_write_data(a_.get(), data, size);
    Check(n < 0 ? static_cast<int>(n) : ARCHIVE_OK, "write " + path);
  }

  ByteSink sink_;
  std::unique_ptr<archive, ArchiveWriteDeleter> a_;
  std::vector<char> buffer_;
  std::exception_ptr pending_;
  bool discard_output_ = false;
};


// Entries as files under a directory: an OCI image layout on disk.
class DirectoryWriter : public EntryWriter {
 public:
  explicit DirectoryWriter(std::string dir) : dir_(std::move(dir)), buffer_(kCopyBufferSize) {}

  void AddDirectory(const std::string& path) override {
    std::string full = dir_ + "/" + path;
    if (::mkdir(full.c_str(), kDirectoryMode) != 0 && errno != EEXIST) throw SysError("cannot create " + full);
  }

  void AddFile(const std::string& path, std::string_view content) override {
    UniqueFd fd = Create(path);
    WriteAll(fd.get(), content.data(), content.size(), dir_ + "/" + path);
    Close(std::move(fd), path);
  }

  void AddStream(const std::string& path, uint64_t size, const ByteSource& source) override {
    UniqueFd fd = Create(path);
    std::string full = dir_ + "/" + path;
    CopyExactly(path, size, source, buffer_, [&](const void* data, size_t n) { WriteAll(fd.get(), data, n, full); });
    Close(std::move(fd), path);
  }

 private:
  UniqueFd Create(const std::string& path) {
    std::string full = dir_ + "/" + path;
    UniqueFd fd(::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode));
    if (!fd) throw SysError("cannot create " + full);
    return fd;
  }

  void Close(UniqueFd fd, const std::string& path) {
    if (::close(fd.release()) != 0) throw SysError("cannot write " + dir_ + "/" + path);
  }

  std::string dir_;
  std::vector<char> buffer_;
};

ByteSource BlobSource(BlobReader& reader) {
  return [&reader](void* data, size_t size) { return reader.Read(data, size); };
}

// A layer as an uncompressed tar of known size, as a docker-archive holds it.
void WriteUncompressedLayer(const Store& store, EntryWriter& tar, const std::string& path, const Descriptor& layer,
                            const Digest& diff_id) {
  std::string what = "layer " + layer.digest.str();
  uint64_t size = 0;
  {
    BlobReader reader = store.blobs().Open(layer.digest);
    DecompressingReader decompressed(BlobSource(reader));
    if (decompressed.compression() == Compression::kNone) {
      // The blob is the tar: its name is its diffID.
      if (layer.digest != diff_id)
        throw Error(what + " is an uncompressed tar, so it should be the layer " + diff_id.str() +
                    " the image config lists; it is not");
      size = reader.size();
    } else {
      Sha256 hash;
      std::vector<char> buffer(kCopyBufferSize);
      while (size_t n = decompressed.Read(buffer.data(), buffer.size())) {
        hash.Update(buffer.data(), n);
        size += n;
      }
      Digest actual = hash.Finish();
      if (actual != diff_id)
        throw Error(what + " decompresses to the layer " + actual.str() + ", not " + diff_id.str() +
                    " as the image config says (`bld check` looks for damage)");
    }
  }
  BlobReader reader = store.blobs().Open(layer.digest);
  DecompressingReader decompressed(BlobSource(reader));
  tar.AddStream(path, size, [&](void* data, size_t n) { return decompressed.Read(data, n); });
}

void WriteBlob(const Store& store, EntryWriter& tar, const std::string& path, const Descriptor& blob) {
  BlobReader reader = store.blobs().Open(blob.digest);
  if (reader.size() != static_cast<uint64_t>(blob.size))
    throw Error("blob " + blob.digest.str() + " is " + std::to_string(reader.size()) +
                " bytes, but its descriptor says " + std::to_string(blob.size));
  tar.AddStream(path, reader.size(), BlobSource(reader));
}

void SaveDocker(const Store& store, const std::vector<SaveRequest>& requests, EntryWriter& tar) {
  struct Entry {
    Image image;
    std::vector<std::string> repo_tags;
  };
  // One entry per image, whatever the number of names it was asked by.
  std::vector<Entry> entries;
  std::map<Digest, size_t> by_id;
  for (const SaveRequest& request : requests) {
    Image image = ReadImage(store, request.descriptor);
    auto [it, added] = by_id.emplace(image.id(), entries.size());
    if (added) entries.push_back({image, {}});
    std::vector<std::string>& tags = entries[it->second].repo_tags;
    for (const ArchiveName& name : request.names)
      if (SplitTag(name.familiar) && std::find(tags.begin(), tags.end(), name.familiar) == tags.end())
        tags.push_back(name.familiar);
  }

  ordered_json manifest = ordered_json::array();
  ordered_json repositories = ordered_json::object();
  for (const Entry& e : entries) {
    ordered_json item;
    item["Config"] = std::string(e.image.id().hex()) + ".json";
    item["RepoTags"] = e.repo_tags.empty() ? ordered_json(nullptr) : ordered_json(e.repo_tags);
    ordered_json layers = ordered_json::array();
    for (const Digest& diff_id : e.image.config.rootfs.diff_ids)
      layers.push_back(std::string(diff_id.hex()) + "/" + std::string(kLayerFileName));
    item["Layers"] = layers;
    manifest.push_back(item);
    const std::vector<Digest>& diff_ids = e.image.config.rootfs.diff_ids;
    for (const std::string& tag : e.repo_tags) {
      auto [repository, name_tag] = *SplitTag(tag);
      // The legacy format names an image by its top layer's directory.
      repositories[repository][name_tag] = diff_ids.empty() ? "" : std::string(diff_ids.back().hex());
    }
  }
  tar.AddFile(std::string(kDockerManifestFile), manifest.dump());
  if (!repositories.empty()) tar.AddFile(std::string(kRepositoriesFile), repositories.dump());

  std::set<Digest> written_layers;
  for (const Entry& e : entries) {
    WriteBlob(store, tar, std::string(e.image.id().hex()) + ".json", e.image.manifest.config);
    for (size_t i = 0; i < e.image.manifest.layers.size(); ++i) {
      const Digest& diff_id = e.image.config.rootfs.diff_ids[i];
      if (!written_layers.insert(diff_id).second) continue;
      std::string dir(diff_id.hex());
      tar.AddDirectory(dir + "/");
      WriteUncompressedLayer(store, tar, dir + "/" + std::string(kLayerFileName), e.image.manifest.layers[i], diff_id);
    }
  }
}

void SaveOci(const Store& store, const std::vector<SaveRequest>& requests, EntryWriter& tar) {
  ImageIndex index;
  index.media_type = std::string(media_type::kOciIndex);
  std::vector<Descriptor> blobs;
  std::set<Digest> seen;
  for (const SaveRequest& request : requests) {
    for (Descriptor& d : store.Closure(request.descriptor))
      if (seen.insert(d.digest).second) blobs.push_back(std::move(d));
    if (request.names.empty()) index.manifests.push_back(request.descriptor);
    for (const ArchiveName& name : request.names) {
      Descriptor named = request.descriptor;
      named.annotations[std::string(kImageNameAnnotation)] = name.canonical;
      if (auto split = SplitTag(name.familiar)) named.annotations[std::string(kRefNameAnnotation)] = split->second;
      index.manifests.push_back(std::move(named));
    }
  }
  tar.AddFile(std::string(kOciLayoutFile), json{{"imageLayoutVersion", kOciLayoutVersion}}.dump());
  tar.AddFile(std::string(kOciIndexFile), Serialize(index));
  tar.AddDirectory("blobs/");
  tar.AddDirectory(std::string(kBlobsDir));
  for (const Descriptor& d : blobs) WriteBlob(store, tar, std::string(kBlobsDir) + std::string(d.digest.hex()), d);
}

// ---------------------------------------------------------------------------
// Reading

// A regular file of the archive, as stored in the blob store.
struct StoredFile {
  BlobInfo blob;
  Compression compression = Compression::kNone;
  // The sha256 of the decompressed content (of the content itself when it
  // is not compressed): the diffID if the file is a layer. Only for a file
  // that passed the layer rules (layer_reader.h).
  std::optional<Digest> diff_id;
  std::string layer_error;  // why it is not a layer bld would apply
};

// The records and manifests one image of the archive will get, all checked.
struct PlannedImage {
  LoadedImage loaded;
  std::vector<Descriptor> blobs;                    // to record
  std::vector<std::pair<Digest, Digest>> diff_ids;  // (diffID, blob)
  // docker-archive only: the manifest bld writes.
  std::optional<BlobInfo> config;
  std::vector<Descriptor> layers;
};

class Loader {
 public:
  explicit Loader(Store& store) : store_(store) {}

  LoadResult Run(const ByteSource& source) {
    DecompressingReader input(source);
    // ustar, PAX, GNU and v7 headers; decompression is input's.
    ArchiveReader tar([&](void* data, size_t size) { return input.Read(data, size); }, ArchiveReader::Format::kTar,
                      ArchiveReader::Filter::kNone, "", "the archive is empty");
    while (archive_entry* entry = tar.Next()) ReadEntry(tar, entry);
    DrainTrailing(input);

    LoadResult result;
    std::vector<PlannedImage> plan;
    if (documents_.count(std::string(kOciIndexFile))) {
      result.format = ArchiveFormat::kOci;
      plan = PlanOci();
    } else if (documents_.count(std::string(kDockerManifestFile))) {
      result.format = ArchiveFormat::kDocker;
      plan = PlanDocker();
    } else {
      throw Error("the archive holds neither manifest.json (a docker-archive) nor index.json (an OCI image layout)");
    }
    // Every image passed: now the records, then the manifests bld writes.
    for (PlannedImage& p : plan) {
      for (const Descriptor& d : p.blobs) store_.RecordBlob(d);
      for (const auto& [diff_id, blob] : p.diff_ids) store_.RecordDiffId(diff_id, blob);
      if (p.config) {
        p.loaded.descriptor = WriteManifest(store_, *p.config, p.layers);
        p.loaded.image_id = p.config->digest;
      }
      result.images.push_back(std::move(p.loaded));
    }
    return result;
  }

 private:
  // Consumes what follows the end of the tar, up to kMaxTrailingBytes.
  void DrainTrailing(DecompressingReader& input) {
    size_t total = 0;
    while (total < kMaxTrailingBytes) {
      size_t n = input.Read(buffer_.data(), std::min(buffer_.size(), kMaxTrailingBytes - total));
      if (n == 0) break;
      total += n;
    }
  }

  bool IsDocument(const std::string& path) const {
    return path == kDockerManifestFile || path == kOciIndexFile || path == kOciLayoutFile || path == kRepositoriesFile;
  }

  void ReadEntry(ArchiveReader& tar, archive_entry* entry) {
    if (++entries_ > kMaxArchiveEntries)
      throw Error("the archive has more than " + std::to_string(kMaxArchiveEntries) +
                  " entries, more than any image archive holds");
    const std::string& raw = tar.entry_name();
    std::string what = "archive entry " + QuoteName(raw);
    if (raw.starts_with('/')) throw Error(what + " has an absolute name");
    std::optional<std::string> normalized = Normalize("", raw);
    if (!normalized) throw Error(what + " climbs out of the archive with \"..\"");
    const std::string& path = *normalized;
    unsigned type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      tar.SkipData();
      return;
    }
    if (path.empty()) throw Error(what + " names the archive's root, but is not a directory");
    if (!names_.insert(path).second) throw Error(what + " appears twice");

    if (const char* target = archive_entry_hardlink(entry)) {
      std::optional<std::string> resolved = Normalize("", target);
      if (!resolved || std::string_view(target).starts_with('/'))
        throw Error(what + " is a hard link out of the archive, to " + QuoteName(target));
      links_[path] = *resolved;
      tar.SkipData();
    } else if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      std::optional<std::string> resolved = Normalize(Parent(path), target ? target : "");
      if (!target || !resolved)
        throw Error(what + " is a symlink out of the archive, to " + QuoteName(target ? target : ""));
      links_[path] = *resolved;
    } else if (type == AE_IFREG) {
      if (IsDocument(path)) {
        documents_[path] = ReadDocument(tar, entry, path);
      } else {
        StoredFile file = StoreFile(tar, path);
        by_digest_.emplace(file.blob.digest, file);
        files_.emplace(path, std::move(file));
      }
    } else {
      throw Error(what + " is a device, fifo or socket; an image archive holds only files, directories and links");
    }
  }

  std::string ReadDocument(ArchiveReader& tar, archive_entry* entry, const std::string& path) {
    auto too_big = [&]() {
      return Error(path + " is larger than the " + std::to_string(kMaxArchiveDocumentSize) +
                   " bytes bld reads of it: not an image archive bld can load");
    };
    if (archive_entry_size_is_set(entry) &&
        archive_entry_size(entry) > static_cast<la_int64_t>(kMaxArchiveDocumentSize))
      throw too_big();
    std::string content;
    while (size_t n = tar.ReadData(buffer_.data(), buffer_.size())) {
      if (content.size() + n > kMaxArchiveDocumentSize) throw too_big();
      content.append(buffer_.data(), n);
    }
    return content;
  }

  // Streams a file into the blob store and, in the same pass, reads it as a
  // layer through the rules the applier enforces (layer_reader.h): whether it
  // is one is known only once manifest.json or index.json says so, and that
  // may come after it in the archive.
  StoredFile StoreFile(ArchiveReader& tar, const std::string& path) {
    std::optional<Digest> expected;
    if (path.starts_with(kBlobsDir)) {
      std::string text = "sha256:" + path.substr(kBlobsDir.size());
      if (Digest::Valid(text)) expected = Digest::Parse(text);
    }
    BlobWriter writer = store_.blobs().NewWriter();
    // Failures of the archive itself end the load; a file that is no valid
    // layer only matters if it is used as one.
    bool archive_failed = false;
    ByteSource content = [&](void* data, size_t size) -> size_t {
      size_t n;
      try {
        n = tar.ReadData(data, size);
      } catch (...) {
        archive_failed = true;
        throw;
      }
      writer.Write(data, n);
      return n;
    };
    StoredFile file;
    try {
      LayerSummary layer = VerifyLayer(content);
      file.compression = layer.compression;
      file.diff_id = layer.diff_id;
    } catch (const Error& e) {
      if (archive_failed) throw;
      file.layer_error = e.what();
    }
    // The rest of the file: what a refused layer (a config, say) left unread.
    while (content(buffer_.data(), buffer_.size()) > 0) {
    }
    try {
      file.blob = writer.Commit(expected);
    } catch (const Error& e) {
      throw Error("archive entry " + QuoteName(path) + " does not hold the blob its name says: " + e.what());
    }
    return file;
  }

  // The file a path of the archive leads to, through its links.
  const StoredFile& Resolve(const std::string& reference, const std::string& what) {
    if (reference.starts_with('/')) throw Error(what + " " + QuoteName(reference) + " is an absolute path");
    std::optional<std::string> normalized = Normalize("", reference);
    if (!normalized) throw Error(what + " " + QuoteName(reference) + " points out of the archive");
    std::string path = *normalized;
    for (int hops = 0; hops <= kMaxLinkHops; ++hops) {
      if (auto file = files_.find(path); file != files_.end()) return file->second;
      // The longest leading part of the path that is a link, replaced by
      // its target.
      bool followed = false;
      for (size_t end = path.size(); end != std::string::npos && end > 0; end = path.rfind('/', end - 1)) {
        auto link = links_.find(path.substr(0, end));
        if (link != links_.end()) {
          path = link->second + path.substr(end);
          followed = true;
          break;
        }
      }
      if (!followed) throw Error(what + " " + QuoteName(reference) + " is not a file in the archive");
    }
    throw Error(what + " " + QuoteName(reference) + ": too many levels of symbolic links");
  }

  const StoredFile* ArchiveBlob(const Digest& digest) const {
    auto it = by_digest_.find(digest);
    return it == by_digest_.end() ? nullptr : &it->second;
  }

  // The diffID the layer `blob` was found to have, or why it has none.
  Digest LayerDiffId(const StoredFile& file, const Digest& expected, const std::string& what) {
    if (!file.diff_id) throw Error(what + " is not a layer bld can use: " + file.layer_error);
    if (*file.diff_id != expected)
      throw Error(what + " holds the layer " + file.diff_id->str() + ", but the image config lists " + expected.str());
    return *file.diff_id;
  }

  std::vector<PlannedImage> PlanDocker() {
    const std::string& text = documents_[std::string(kDockerManifestFile)];
    json manifest = json::parse(text, nullptr, false);
    if (manifest.is_discarded()) throw Error("manifest.json is not valid JSON");
    if (!manifest.is_array()) throw Error("manifest.json is not a list of images");
    std::vector<PlannedImage> plan;
    for (size_t i = 0; i < manifest.size(); ++i) {
      const json& item = manifest[i];
      std::string where = "manifest.json: image " + std::to_string(i);
      if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string() || !item.contains("Layers") ||
          !item["Layers"].is_array())
        throw Error(where + " is not an object with a Config path and a Layers list");
      PlannedImage p;
      std::string config_path = item["Config"].get<std::string>();
      const StoredFile& config_file = Resolve(config_path, where + ": the config");
      Digest config_digest = config_file.blob.digest;
      ImageConfig config;
      try {
        config = ParseImageConfig(store_.blobs().ReadAll(config_digest, kMaxConfigSize), config_digest);
      } catch (const Error& e) {
        throw Error(where + ": the config " + QuoteName(config_path) + ": " + e.what());
      }
      const json& layers = item["Layers"];
      if (layers.size() != config.rootfs.diff_ids.size())
        throw Error(where + " lists " + std::to_string(layers.size()) + " layers, but its config lists " +
                    std::to_string(config.rootfs.diff_ids.size()) + " diffIDs");
      Descriptor config_descriptor;
      config_descriptor.media_type = std::string(media_type::kOciConfig);
      config_descriptor.digest = config_digest;
      config_descriptor.size = static_cast<int64_t>(config_file.blob.size);
      for (size_t l = 0; l < layers.size(); ++l) {
        if (!layers[l].is_string()) throw Error(where + ": Layers[" + std::to_string(l) + "] is not a path");
        std::string path = layers[l].get<std::string>();
        std::string what = where + ": the layer";
        const StoredFile& file = Resolve(path, what);
        what += " " + QuoteName(path);
        Digest diff_id = LayerDiffId(file, config.rootfs.diff_ids[l], what);
        Descriptor d;
        d.media_type = LayerMediaType(file.compression, what);
        d.digest = file.blob.digest;
        d.size = static_cast<int64_t>(file.blob.size);
        p.layers.push_back(d);
        p.blobs.push_back(d);
        p.diff_ids.emplace_back(diff_id, d.digest);
      }
      if (item.contains("RepoTags") && !item["RepoTags"].is_null()) {
        if (!item["RepoTags"].is_array()) throw Error(where + ": RepoTags is not a list of names");
        for (const json& tag : item["RepoTags"]) {
          if (!tag.is_string()) throw Error(where + ": RepoTags holds something that is not a name");
          p.loaded.names.push_back(tag.get<std::string>());
        }
      }
      p.config = BlobInfo{config_digest, config_file.blob.size};
      plan.push_back(std::move(p));
    }
    return plan;
  }

  std::vector<PlannedImage> PlanOci() {
    auto layout = documents_.find(std::string(kOciLayoutFile));
    if (layout == documents_.end())
      throw Error("the archive has an index.json but no oci-layout file: not an OCI image layout");
    json version = json::parse(layout->second, nullptr, false);
    if (!version.is_object() || !version.contains("imageLayoutVersion") || !version["imageLayoutVersion"].is_string())
      throw Error("oci-layout is not an object with an imageLayoutVersion");
    if (version["imageLayoutVersion"].get<std::string>() != kOciLayoutVersion)
      throw Error("oci-layout: image layout version " + QuoteName(version["imageLayoutVersion"].get<std::string>()) +
                  " is not one bld reads (" + std::string(kOciLayoutVersion) + ")");
    const std::string& text = documents_[std::string(kOciIndexFile)];
    ImageIndex index;
    try {
      index = ParseImageIndex(text, Sha256::Of(text));
    } catch (const Error& e) {
      throw Error(std::string("index.json: ") + e.what());
    }
    std::vector<PlannedImage> plan;
    for (size_t i = 0; i < index.manifests.size(); ++i) {
      const Descriptor& top = index.manifests[i];
      std::string where = "index.json: manifests[" + std::to_string(i) + "]";
      if (!IsManifestMediaType(top.media_type) && !IsIndexMediaType(top.media_type))
        throw Error(where + " has the media type " + QuoteName(top.media_type) + ", not an image manifest or index");
      PlannedImage p;
      p.loaded.descriptor = top;
      p.loaded.descriptor.annotations.clear();
      try {
        p.blobs = ArchiveClosure(top, where);
      } catch (const Error& incomplete) {
        // An index whose other platforms were not saved with it (a pulled
        // multi-platform image holds only its own): its image for this
        // host is what there is to load, if that one is complete.
        if (!IsIndexMediaType(top.media_type)) throw;
        std::optional<Descriptor> host;
        try {
          host = ReadImage(store_, top).manifest_descriptor;
        } catch (const Error&) {
          throw incomplete;
        }
        p.blobs = ArchiveClosure(*host, where);
        p.loaded.descriptor = *host;
      }
      for (const Descriptor& d : p.blobs)
        if (IsManifestMediaType(d.media_type)) PlanLayers(d, where, p);
      try {
        p.loaded.image_id = ReadImage(store_, p.loaded.descriptor).id();
      } catch (const Error&) {
        p.loaded.image_id = top.digest;  // an index without an image for this host
      }
      if (auto name = top.annotations.find(std::string(kImageNameAnnotation)); name != top.annotations.end()) {
        p.loaded.names.push_back(name->second);
      } else if (auto ref = top.annotations.find(std::string(kRefNameAnnotation)); ref != top.annotations.end()) {
        // A bare word is a tag with no repository to put it on.
        if (ref->second.find_first_of("/:@") != std::string::npos) p.loaded.names.push_back(ref->second);
      }
      plan.push_back(std::move(p));
    }
    return plan;
  }

  // Everything `top` reaches, each in the archive with its descriptor's size.
  std::vector<Descriptor> ArchiveClosure(const Descriptor& top, const std::string& where) {
    std::vector<Descriptor> closure = store_.Closure(top, [&](const Descriptor& d) {
      const StoredFile* file = ArchiveBlob(d.digest);
      if (!file)
        throw Error(where + " needs the blob " + d.digest.str() + " (" + d.media_type +
                    "), which is not in the archive");
      if (file->blob.size != static_cast<uint64_t>(d.size))
        throw Error(where + ": the blob " + d.digest.str() + " is " + std::to_string(file->blob.size) +
                    " bytes, but its descriptor says " + std::to_string(d.size));
    });
    for (Descriptor& d : closure) d.annotations.clear();
    return closure;
  }

  // Checks the layers of one image manifest against its config's diffIDs.
  void PlanLayers(const Descriptor& manifest_descriptor, const std::string& where, PlannedImage& p) {
    ImageManifest m = ParseImageManifest(store_.blobs().ReadAll(manifest_descriptor.digest, kMaxManifestSize),
                                         manifest_descriptor.digest);
    // Artifacts (signatures, attestations) have no image config and no diffIDs.
    if (m.config.media_type != media_type::kOciConfig && m.config.media_type != media_type::kDockerConfig) return;
    ImageConfig config = ParseImageConfig(store_.blobs().ReadAll(m.config.digest, kMaxConfigSize), m.config.digest);
    if (config.rootfs.diff_ids.size() != m.layers.size())
      throw Error(where + ": the manifest " + manifest_descriptor.digest.str() + " lists " +
                  std::to_string(m.layers.size()) + " layers, but its config lists " +
                  std::to_string(config.rootfs.diff_ids.size()) + " diffIDs");
    for (size_t i = 0; i < m.layers.size(); ++i) {
      std::string what = where + ": the layer " + m.layers[i].digest.str();
      Digest diff_id = LayerDiffId(*ArchiveBlob(m.layers[i].digest), config.rootfs.diff_ids[i], what);
      p.diff_ids.emplace_back(diff_id, m.layers[i].digest);
    }
  }

  Store& store_;
  size_t entries_ = 0;
  std::set<std::string> names_;
  std::map<std::string, std::string> documents_;
  std::map<std::string, StoredFile> files_;
  std::map<std::string, std::string> links_;  // path -> target path
  std::map<Digest, StoredFile> by_digest_;
  // One buffer for the whole archive: an archive of many small files would
  // otherwise allocate and clear a fresh one per file.
  std::vector<char> buffer_ = std::vector<char>(kCopyBufferSize);
};

}  // namespace

void SaveImages(const Store& store, const std::vector<SaveRequest>& images, ArchiveFormat format,
                const ByteSink& sink) {
  TarWriter tar(sink);
  if (format == ArchiveFormat::kDocker) {
    SaveDocker(store, images, tar);
  } else {
    SaveOci(store, images, tar);
  }
  tar.Finish();
}

void SaveOciLayout(const Store& store, const std::vector<SaveRequest>& images, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create the directory " + dir + ": " + ec.message());
  if (!std::filesystem::is_empty(dir, ec) || ec)
    throw Error("cannot write an OCI layout into " + dir + ": " + (ec ? ec.message() : "it is not empty"));
  DirectoryWriter writer(dir);
  SaveOci(store, images, writer);
}

LoadResult LoadImages(Store& store, const ByteSource& archive, const std::string& archive_name) {
  try {
    return Loader(store).Run(archive);
  } catch (const Error& e) {
    throw Error("cannot load " + archive_name + ": " + e.what());
  }
}

}  // namespace bld::store
