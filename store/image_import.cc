#include "store/image_import.h"

#include <archive.h>
#include <archive_entry.h>

#include <exception>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "store/archive_handles.h"
#include "store/error.h"
#include "store/timestamp.h"

namespace bld::store {

namespace {

// How much decompressed tar is handed to libarchive at a time.
constexpr size_t kReadBlockSize = 1 << 20;

// The decompressed tarball on its way to libarchive: every byte libarchive
// reads is hashed (the diffID) and compressed into the layer blob, so the
// layer is exactly the bytes that were checked.
class TarballStream {
 public:
  TarballStream(const ByteSource& source, Compression compression, BlobWriter& writer)
      : reader_(source),
        compressor_(compression, [&writer](const void* data, size_t size) { writer.Write(data, size); }),
        buffer_(kReadBlockSize) {}

  static la_ssize_t ReadCallback(archive*, void* self, const void** block) {
    auto* stream = static_cast<TarballStream*>(self);
    // An exception must not unwind through libarchive's C frames: keep it
    // for RethrowPending once libarchive has returned.
    try {
      *block = stream->buffer_.data();
      return static_cast<la_ssize_t>(stream->Read());
    } catch (...) {
      stream->pending_ = std::current_exception();
      return -1;
    }
  }

  void RethrowPending() {
    if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
  }

  // Takes in what follows the end of the tar (padding), so that the layer
  // and its diffID are the whole stream.
  void Finish() {
    while (Read() > 0) {
    }
    compressor_.Finish();
  }

  Compression compression() const { return reader_.compression(); }
  uint64_t size() const { return size_; }
  Digest FinishDiffId() { return hasher_.Finish(); }

 private:
  size_t Read() {
    size_t n = reader_.Read(buffer_.data(), buffer_.size());
    hasher_.Update(buffer_.data(), n);
    compressor_.Write(buffer_.data(), n);
    size_ += n;
    return n;
  }

  DecompressingReader reader_;
  Compressor compressor_;
  std::vector<char> buffer_;
  Sha256 hasher_;
  uint64_t size_ = 0;
  std::exception_ptr pending_;
};

// True when `path` climbs above the root: more ".." than names before them.
bool Escapes(std::string_view path) {
  long depth = 0;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    depth += part == ".." ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

std::string EntryName(archive_entry* entry) {
  const char* name = archive_entry_pathname(entry);
  if (!name) name = archive_entry_pathname_utf8(entry);
  if (!name) throw Error("an entry has no usable name");
  return name;
}

std::string_view MediaTypeFor(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return kMediaTypeLayerGzip;
    case Compression::kZstd:
      return kMediaTypeLayerZstd;
    case Compression::kNone:
      return kMediaTypeLayerTar;
    default:
      throw Error("a layer is written with gzip, zstd or no compression, not " +
                  std::string(CompressionName(compression)));
  }
}

// Reads the whole tarball through libarchive, refusing what is not a tar or
// has an escaping entry; returns the layer (committed only if it is valid).
LayerInfo StoreTarballLayer(Store& store, const ByteSource& tarball, const ImportOptions& options) {
  std::string media_type(MediaTypeFor(options.compression));
  BlobWriter writer = store.blobs().NewWriter();
  TarballStream stream(tarball, options.compression, writer);
  std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
  if (!a) throw Error("cannot allocate a libarchive reader");
  // ustar, PAX, GNU and v7 headers; decompression is TarballStream's.
  archive_read_support_format_tar(a.get());
  std::string last;
  auto fail = [&]() {
    stream.RethrowPending();
    const char* detail = archive_error_string(a.get());
    if (stream.size() == 0) throw Error("it is empty, not a tar archive");
    throw Error("not a valid tar archive" +
                (last.empty() ? std::string(" at its start") : " after the entry \"" + last + "\"") + ": " +
                (detail ? detail : "unknown libarchive error"));
  };
  if (archive_read_open(a.get(), &stream, nullptr, &TarballStream::ReadCallback, nullptr) != ARCHIVE_OK) fail();
  while (true) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    stream.RethrowPending();
    if (rc == ARCHIVE_EOF) break;
    // ARCHIVE_WARN: the entry is usable (a name that is not UTF-8, say).
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail();
    last = EntryName(entry);
    if (Escapes(last)) throw Error("the entry \"" + last + "\" climbs out of the root filesystem with \"..\"");
    if (const char* link = archive_entry_hardlink(entry); link && Escapes(link))
      throw Error("the hard link \"" + last + "\" points out of the root filesystem, to \"" + link + "\"");
    if (archive_read_data_skip(a.get()) != ARCHIVE_OK) fail();
  }
  if (stream.size() == 0) throw Error("it is empty, not a tar archive");
  stream.Finish();

  LayerInfo layer;
  layer.diff_id = stream.FinishDiffId();
  layer.uncompressed_size = stream.size();
  layer.compressed_size = writer.size();
  layer.media_type = media_type;
  layer.digest = writer.Commit().digest;
  store.RecordBlob(LayerDescriptor(layer));
  store.RecordDiffId(layer.diff_id, layer.digest);
  return layer;
}

}  // namespace

ImportResult ImportRootfs(Store& store, const ByteSource& tarball, const ImportOptions& options) {
  ImportResult result;
  try {
    result.layer = StoreTarballLayer(store, tarball, options);
  } catch (const Error& e) {
    throw Error("cannot import " + options.source + ": " + e.what());
  }
  std::string created = FormatTimestamp(options.created);
  ImageConfig config;
  config.created = created;
  config.architecture = options.platform.architecture;
  config.os = options.platform.os;
  config.variant = options.platform.variant;
  config.rootfs.diff_ids = {result.layer.diff_id};
  HistoryEntry history;
  history.created = created;
  history.comment = options.message.empty() ? "Imported from " + options.source : options.message;
  config.history.push_back(history);
  result.manifest = WriteImage(store, config, {LayerDescriptor(result.layer)}, options.oci, &result.image_id);
  return result;
}

}  // namespace bld::store
