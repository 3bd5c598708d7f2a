// Reading archives with libarchive, in one place: the read callback that
// feeds libarchive from a ByteSource, the exception that must not unwind
// through libarchive's C frames (kept and rethrown once libarchive has
// returned), the entry names, and error messages that say where in the
// archive reading stopped.
//
// Tar archives (layers, build contexts, ADD sources, image archives) and raw
// compressed streams (bzip2 and xz, which only libarchive decompresses) are
// all read through it.
//
// Thread safety: an ArchiveReader belongs to one thread at a time.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "store/archive_handles.h"
#include "store/compression.h"
#include "store/fd_io.h"

namespace bld::store {

class ArchiveReader {
 public:
  enum class Format {
    kTar,  // ustar, PAX, GNU and v7 headers
    kRaw,  // no archive format: one entry holding the (decompressed) bytes
  };
  // What libarchive decompresses itself. kNone when the caller hands it
  // decompressed bytes (as the layer code does, through DecompressingReader);
  // kAll for the inputs docker accepts compressed any way (a build context on
  // stdin, an ADD source).
  enum class Filter { kNone, kAll, kBzip2, kXz };

  // `input` yields the archive's bytes; it may throw, and its exception
  // reaches the caller of the method that was reading. `context` begins
  // every error message ("build context", "bzip2 stream"); it may be empty.
  // `empty` is the whole message for an input without a byte ("the layer is
  // empty, not a tar archive"); by default the context and "it is empty, not
  // a tar archive".
  ArchiveReader(ByteSource input, Format format, Filter filter, std::string context, std::string empty = "");
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  // The next entry, or nullptr after the last. An entry whose header
  // libarchive could use with a warning (a PAX name that is not UTF-8) is
  // returned; a damaged one throws, naming the entry before it.
  archive_entry* Next();
  // The current entry's name as the archive spells it ("" before the first).
  const std::string& entry_name() const { return entry_name_; }

  // The current entry's content; 0 at its end.
  size_t ReadData(void* data, size_t size);
  // The next block of the current entry's content and its offset in the
  // file (sparse files have holes between blocks); false at its end.
  bool ReadBlock(const void** data, size_t* size, int64_t* offset);
  void SkipData();

  // Bytes taken from `input` so far (0: the input was empty).
  uint64_t bytes_read() const { return bytes_read_; }
  archive* get() const { return a_.get(); }

  // Throws bld::Error: the context, `what`, and libarchive's explanation.
  [[noreturn]] void Fail(const std::string& what);

 private:
  static la_ssize_t ReadCallback(archive*, void* self, const void** block);
  void RethrowPending();
  // "it is empty, not a tar archive", "not a valid tar archive at its
  // start", "... in/after the entry X".
  [[noreturn]] void FailAtEntry(bool inside);

  ByteSource input_;
  std::string context_;
  std::string empty_;
  Format format_;
  std::vector<unsigned char> buffer_;
  std::unique_ptr<archive, ArchiveReadDeleter> a_;
  std::exception_ptr pending_;
  std::string entry_name_;
  uint64_t bytes_read_ = 0;
  bool done_ = false;
};

}  // namespace bld::store
