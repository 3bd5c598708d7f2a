// Streaming compression for layer blobs: what bld writes and what it reads.
//
// bld writes layers compressed with gzip (what every registry and client
// accepts) or zstd (`--compression zstd`), and reads whatever a registry or a
// `docker save` tarball hands it: plain tar, gzip, zstd, and, for ADD of a
// local archive as Docker allows, bzip2 and xz. Everything streams through
// fixed-size buffers, so a 1 GiB layer costs the same memory as a 1 KiB one.
//
// Both compressors use every CPU: gzip the way pigz does (blocks deflated in
// parallel, joined into one standard gzip stream), zstd with its own worker
// threads. Reproducibility: the same input and level give the same bytes on
// every machine running the same zlib/libzstd, whatever its number of CPUs:
// gzip blocks have a fixed size, and zstd always runs in its multithreaded
// mode (at least one worker), whose output does not depend on the worker
// count. A 2-core CI runner and a 64-core workstation agree on digests.
//
// Thread-safety: a Compressor or DecompressingReader is used by one thread at a
// time; separate objects are independent. The compressors run worker threads
// internally; the sink is only ever called from the caller's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace bld::store {

// Receives bytes in order. May throw; the exception reaches the caller of the
// function that was writing.
using ByteSink = std::function<void(const void* data, size_t size)>;
// Fills at most `size` bytes into `data` and returns how many; returns 0 only
// at the end of the stream. Throws bld::Error on a read failure.
using ByteSource = std::function<size_t(void* data, size_t size)>;

enum class Compression { kNone, kGzip, kZstd, kBzip2, kXz };

// "none", "gzip", "zstd", "bzip2", "xz": for messages.
std::string_view CompressionName(Compression compression);

// How many leading bytes DetectCompression looks at.
inline constexpr size_t kCompressionMagicSize = 10;

// Recognizes a compressed stream by its magic bytes; kNone for anything else
// (a plain tar starts with a file name). bzip2 is recognized only with its
// block signature after "BZh<level>", so a tar whose first entry is named
// "BZh..." is not mistaken for it.
Compression DetectCompression(const void* head, size_t size);

struct CompressOptions {
  // 0 picks the format's default: gzip 6 and zstd 3, the levels Docker and
  // BuildKit use (Go's gzip.DefaultCompression, zstd.SpeedDefault).
  int level = 0;
  // Worker threads; 0 means one per CPU this process may run on. Does not
  // change the output.
  int threads = 0;
};

// Compresses a stream into a sink: gzip (zlib) or zstd (libzstd); kNone
// passes bytes through. bzip2 and xz are read-only formats for bld and are
// refused here. Memory: about 1.5 MiB (gzip) or 3 MiB (zstd) per thread.
class Compressor {
 public:
  Compressor(Compression compression, ByteSink sink, const CompressOptions& options = {});
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  void Write(const void* data, size_t size);
  // Flushes the end of the stream into the sink. Call once, after the last
  // Write; a Compressor destroyed without Finish leaves its output incomplete.
  void Finish();

  class Codec;

 private:
  std::unique_ptr<Codec> codec_;
};

// Reads the decompressed form of a stream whose format is detected from its
// first bytes (see DetectCompression). Corrupt or truncated input throws
// bld::Error naming the format and what is wrong.
class DecompressingReader {
 public:
  explicit DecompressingReader(ByteSource source);
  ~DecompressingReader();
  DecompressingReader(const DecompressingReader&) = delete;
  DecompressingReader& operator=(const DecompressingReader&) = delete;

  Compression compression() const { return compression_; }
  // Same contract as ByteSource: 0 only at the end of the decompressed stream.
  size_t Read(void* data, size_t size);

  class Codec;

 private:
  Compression compression_ = Compression::kNone;
  std::unique_ptr<Codec> codec_;
};

}  // namespace bld::store
