#include "store/archive_reader.h"

#include <utility>

#include "store/error.h"
#include "store/quote.h"

namespace bld::store {

namespace {

// What one read callback hands libarchive: large enough that a layer of
// hundreds of MiB costs a few thousand callbacks, small enough to stay in
// the cache.
constexpr size_t kReadBlockSize = 128 * 1024;

}  // namespace

ArchiveReader::ArchiveReader(ByteSource input, Format format, Filter filter, std::string context, std::string empty)
    : input_(std::move(input)),
      context_(std::move(context)),
      empty_(empty.empty() ? (context_.empty() ? "" : context_ + ": ") + "it is empty, not a tar archive"
                           : std::move(empty)),
      format_(format),
      buffer_(kReadBlockSize),
      a_(archive_read_new()) {
  if (!a_) Fail("cannot allocate a libarchive reader");
  int rc = ARCHIVE_OK;
  switch (filter) {
    case Filter::kNone: break;
    case Filter::kAll: rc = archive_read_support_filter_all(a_.get()); break;
    case Filter::kBzip2: rc = archive_read_support_filter_bzip2(a_.get()); break;
    case Filter::kXz: rc = archive_read_support_filter_xz(a_.get()); break;
  }
  // ARCHIVE_WARN means libarchive will run an external program instead of a
  // linked library for some filter, which still decompresses correctly.
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) Fail("cannot enable decompression");
  rc = format == Format::kTar ? archive_read_support_format_tar(a_.get()) : archive_read_support_format_raw(a_.get());
  if (rc != ARCHIVE_OK) Fail("cannot enable the archive format");
  if (archive_read_open(a_.get(), this, nullptr, &ArchiveReader::ReadCallback, nullptr) != ARCHIVE_OK) FailAtEntry(false);
}

la_ssize_t ArchiveReader::ReadCallback(archive*, void* self, const void** block) {
  auto* reader = static_cast<ArchiveReader*>(self);
  // An exception must not unwind through libarchive's C frames: keep it and
  // rethrow once libarchive has returned.
  try {
    *block = reader->buffer_.data();
    size_t n = reader->input_(reader->buffer_.data(), reader->buffer_.size());
    reader->bytes_read_ += n;
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    reader->pending_ = std::current_exception();
    return -1;
  }
}

void ArchiveReader::RethrowPending() {
  if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
}

archive_entry* ArchiveReader::Next() {
  if (done_) return nullptr;
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(a_.get(), &entry);
  RethrowPending();
  if (rc == ARCHIVE_EOF) {
    if (bytes_read_ == 0 && format_ == Format::kTar) throw Error(empty_);
    done_ = true;
    return nullptr;
  }
  // ARCHIVE_WARN: the entry is usable (a name that is not UTF-8, say).
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) FailAtEntry(false);
  const char* name = archive_entry_pathname(entry);
  if (!name) name = archive_entry_pathname_utf8(entry);
  if (!name && format_ == Format::kTar)
    Fail("an entry after " + (entry_name_.empty() ? std::string("the start") : QuoteName(entry_name_)) +
         " has no usable name");
  entry_name_ = name ? name : "";
  return entry;
}

size_t ArchiveReader::ReadData(void* data, size_t size) {
  la_ssize_t n = archive_read_data(a_.get(), data, size);
  RethrowPending();
  if (n < 0) FailAtEntry(true);
  return static_cast<size_t>(n);
}

bool ArchiveReader::ReadBlock(const void** data, size_t* size, int64_t* offset) {
  la_int64_t at = 0;
  int rc = archive_read_data_block(a_.get(), data, size, &at);
  RethrowPending();
  if (rc == ARCHIVE_EOF) return false;
  // Unlike a header, a block that comes with a warning is not one to write.
  if (rc != ARCHIVE_OK) FailAtEntry(true);
  *offset = at;
  return true;
}

void ArchiveReader::SkipData() {
  int rc = archive_read_data_skip(a_.get());
  RethrowPending();
  if (rc != ARCHIVE_OK) FailAtEntry(true);
}

void ArchiveReader::Fail(const std::string& what) {
  RethrowPending();
  const char* detail = a_ ? archive_error_string(a_.get()) : nullptr;
  throw Error((context_.empty() ? "" : context_ + ": ") + what + (detail ? std::string(": ") + detail : ""));
}

void ArchiveReader::FailAtEntry(bool inside) {
  if (format_ == Format::kRaw) Fail("corrupt data");
  if (bytes_read_ == 0) {
    RethrowPending();
    throw Error(empty_);
  }
  if (entry_name_.empty()) Fail("not a valid tar archive at its start");
  Fail("not a valid tar archive " + std::string(inside ? "in" : "after") + " the entry " + QuoteName(entry_name_));
}

}  // namespace bld::store
