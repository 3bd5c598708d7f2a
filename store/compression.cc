#include "store/compression.h"

#include <sched.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/archive_reader.h"
#include "store/error.h"

namespace bld::store {

namespace {

// Buffer sizes: large enough that per-call overhead vanishes next to the
// compression work, small enough not to matter for memory.
constexpr size_t kGzipReadBufferSize = 256 * 1024;
// The unit of parallel gzip (pigz's default): smaller blocks lose ratio to
// the cuts, larger ones leave threads idle on small layers.
constexpr size_t kGzipBlockSize = 128 * 1024;
// Blocks queued or compressing per worker. Blocks leave in order, so one
// slow block holds back those behind it: a few per worker keep the other
// workers busy meanwhile.
constexpr size_t kGzipBlocksInFlightPerWorker = 4;
// deflate looks back at most 32 KiB: that much of the previous block primes
// the next one.
constexpr size_t kDeflateWindowSize = 32 * 1024;
// A sync flush ends with an empty stored block (up to 3 bits to the byte
// boundary, a 3-bit header, 4 bytes of lengths), which deflateBound does not
// count.
constexpr size_t kSyncFlushMarkerSize = 6;
// zstd multithreaded jobs: each worker holds about two jobs of input and
// output, so 1 MiB keeps a worker near 3 MiB (16 workers stay under 64 MiB),
// for a ratio loss under 0.05% against zstd's default (8 MiB at level 3).
constexpr int kZstdJobSize = 1024 * 1024;

// Docker (moby/go-archive) and BuildKit compress layers with Go's
// gzip.DefaultCompression, which is deflate level 6: the usual middle between
// speed and size. zlib's level 6 gives the same ratio within a percent.
constexpr int kGzipDefaultLevel = 6;
// zstd's own default, and BuildKit's zstd.SpeedDefault: faster than gzip -6
// and smaller.
constexpr int kZstdDefaultLevel = 3;
// 32 KiB window (the deflate maximum) plus 16: zlib reads a gzip wrapper
// instead of a zlib one.
constexpr int kGzipWindowBits = 15 + 16;
// Negative: raw deflate, no wrapper (the parallel writer writes its own).
constexpr int kRawDeflateWindowBits = -15;
// The gzip header's OS byte, as zlib writes it on Unix.
constexpr unsigned char kGzipOsUnix = 3;
// zlib's default memory level; higher only costs memory.
constexpr int kGzipMemLevel = 8;
// zlib counts in uInt: a larger read is served at most this much at a time.
constexpr size_t kZlibMaxChunk = UINT_MAX;

int UsableCpuCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone: return "none";
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
    case Compression::kBzip2: return "bzip2";
    case Compression::kXz: return "xz";
  }
  return "unknown";
}

Compression DetectCompression(const void* head, size_t size) {
  const auto* p = static_cast<const unsigned char*>(head);
  auto starts_with = [&](std::initializer_list<unsigned char> magic, size_t at = 0) {
    if (size < at + magic.size()) return false;
    return std::equal(magic.begin(), magic.end(), p + at);
  };
  if (starts_with({0x1f, 0x8b, 0x08})) return Compression::kGzip;
  if (starts_with({0x28, 0xb5, 0x2f, 0xfd})) return Compression::kZstd;
  // A zstd stream may open with a skippable frame: magic 0x184D2A5? (little
  // endian), any low nibble.
  if (size >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18)
    return Compression::kZstd;
  if (starts_with({0xfd, '7', 'z', 'X', 'Z', 0x00})) return Compression::kXz;
  // "BZh", a block size digit, then the magic of the first block (BCD pi) or
  // of the end of an empty stream (BCD sqrt(pi)).
  if (starts_with({'B', 'Z', 'h'}) && size >= 10 && p[3] >= '1' && p[3] <= '9' &&
      (starts_with({0x31, 0x41, 0x59, 0x26, 0x53, 0x59}, 4) ||
       starts_with({0x17, 0x72, 0x45, 0x38, 0x50, 0x90}, 4)))
    return Compression::kBzip2;
  return Compression::kNone;
}

// ---------------------------------------------------------------------------
// Compression

class Compressor::Codec {
 public:
  virtual ~Codec() = default;
  virtual void Write(const void* data, size_t size) = 0;
  virtual void Finish() = 0;
};

namespace {

class PassThroughCompressor : public Compressor::Codec {
 public:
  explicit PassThroughCompressor(ByteSink sink) : sink_(std::move(sink)) {}
  void Write(const void* data, size_t size) override {
    if (size) sink_(data, size);
  }
  void Finish() override {}

 private:
  ByteSink sink_;
};

// RAII for a deflate stream.
class Deflater {
 public:
  explicit Deflater(int level) {
    if (deflateInit2(&zs_, level, Z_DEFLATED, kRawDeflateWindowBits, kGzipMemLevel, Z_DEFAULT_STRATEGY) != Z_OK)
      throw Error("gzip: cannot initialise zlib at level " + std::to_string(level));
  }
  ~Deflater() { deflateEnd(&zs_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  z_stream* get() { return &zs_; }

 private:
  z_stream zs_{};
};

// gzip compressed on several threads, the way pigz does it: the input is cut
// into blocks of kGzipBlockSize, each block is deflated on its own, primed
// with the 32 KiB before it as dictionary (so matches still reach back across
// the cut) and ended with a sync flush (so it ends on a byte boundary without
// ending the stream), and the pieces, in order, form one deflate stream
// inside one gzip member. Any gzip reader reads it. The output depends only on
// the input and the level, never on the number of threads, at a cost of well
// under 1% in size against one single-threaded stream.
//
// The caller's thread cuts blocks and writes finished ones to the sink, in
// order; workers compress. At most kGzipBlocksInFlightPerWorker blocks per
// worker are in flight, which bounds memory (about 1.2 MiB per worker).
class GzipCompressor : public Compressor::Codec {
 public:
  GzipCompressor(ByteSink sink, int level, int threads) : sink_(std::move(sink)) {
    const unsigned char header[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, kGzipOsUnix};
    sink_(header, sizeof(header));
    filling_ = NewJob();
    // Streams made here, so that an invalid level fails in the caller.
    for (int i = 0; i < std::max(1, threads); ++i) deflaters_.push_back(std::make_unique<Deflater>(level));
    max_in_flight_ = kGzipBlocksInFlightPerWorker * deflaters_.size();
    try {
      for (auto& deflater : deflaters_) workers_.emplace_back([this, d = deflater.get()] { Work(d->get()); });
    } catch (...) {
      StopWorkers();
      throw;
    }
  }

  ~GzipCompressor() override { StopWorkers(); }

  void Write(const void* data, size_t size) override {
    const auto* p = static_cast<const unsigned char*>(data);
    while (size > 0) {
      std::vector<unsigned char>& block = filling_->input;
      size_t n = std::min(size, kGzipBlockSize - block.size());
      block.insert(block.end(), p, p + n);
      p += n;
      size -= n;
      if (block.size() == kGzipBlockSize) Submit(false);
    }
  }

  void Finish() override {
    Submit(true);
    DrainFinished(0);
    unsigned char trailer[8];
    for (int i = 0; i < 4; ++i) {
      trailer[i] = static_cast<unsigned char>(crc_ >> (8 * i));
      trailer[4 + i] = static_cast<unsigned char>(total_size_ >> (8 * i));
    }
    sink_(trailer, sizeof(trailer));
  }

 private:
  struct Job {
    std::vector<unsigned char> input;
    std::vector<unsigned char> dictionary;  // the 32 KiB of input before this block
    bool last = false;
    bool started = false;
    bool done = false;
    std::vector<unsigned char> output;
    uLong crc = 0;
    std::exception_ptr error;
  };

  void Submit(bool last) {
    std::shared_ptr<Job> job = std::move(filling_);
    job->last = last;
    job->dictionary.assign(dictionary_.begin(), dictionary_.end());
    size_t keep = std::min(job->input.size(), kDeflateWindowSize);
    dictionary_.assign(job->input.end() - static_cast<std::ptrdiff_t>(keep), job->input.end());
    DrainFinished(max_in_flight_ - 1);
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    work_ready_.notify_one();
    if (!last) filling_ = NewJob();
  }

  // Jobs and their buffers are reused: a fresh 128 KiB buffer per block costs
  // an mmap and page faults every time (glibc serves blocks this large with
  // mmap), which took a quarter of the compression time and serialized the
  // workers on the process's memory map.
  std::shared_ptr<Job> NewJob() {
    if (spare_.empty()) {
      auto job = std::make_shared<Job>();
      job->input.reserve(kGzipBlockSize);
      return job;
    }
    std::shared_ptr<Job> job = std::move(spare_.back());
    spare_.pop_back();
    job->input.clear();
    job->last = job->started = job->done = false;
    return job;
  }

  // Writes finished blocks in order until at most `in_flight` remain.
  void DrainFinished(size_t in_flight) {
    std::unique_lock lock(mutex_);
    while (jobs_.size() > in_flight) {
      job_done_.wait(lock, [&] { return jobs_.front()->done; });
      std::shared_ptr<Job> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      if (job->error) std::rethrow_exception(job->error);
      crc_ = crc32_combine(crc_, job->crc, static_cast<z_off_t>(job->input.size()));
      total_size_ += job->input.size();
      sink_(job->output.data(), job->output.size());
      spare_.push_back(std::move(job));
      lock.lock();
    }
  }

  void Work(z_stream* zs) {
    std::unique_lock lock(mutex_);
    while (true) {
      work_ready_.wait(lock, [&] { return stopping_ || NextJob(); });
      if (stopping_) return;
      std::shared_ptr<Job> job = NextJob();
      job->started = true;
      lock.unlock();
      try {
        Compress(zs, *job);
      } catch (...) {
        job->error = std::current_exception();
      }
      lock.lock();
      job->done = true;
      job_done_.notify_all();
    }
  }

  void StopWorkers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  std::shared_ptr<Job> NextJob() {
    for (const auto& job : jobs_)
      if (!job->started) return job;
    return nullptr;
  }

  static void Compress(z_stream* zs, Job& job) {
    if (deflateReset(zs) != Z_OK) throw Error("gzip: cannot reset zlib");
    if (!job.dictionary.empty() &&
        deflateSetDictionary(zs, job.dictionary.data(), static_cast<uInt>(job.dictionary.size())) != Z_OK)
      throw Error("gzip: cannot prime zlib with the previous block");
    job.crc = crc32(0, job.input.data(), static_cast<uInt>(job.input.size()));
    int flush = job.last ? Z_FINISH : Z_SYNC_FLUSH;
    job.output.resize(deflateBound(zs, job.input.size()) + kSyncFlushMarkerSize);
    zs->next_in = job.input.data();
    zs->avail_in = static_cast<uInt>(job.input.size());
    size_t produced = 0;
    while (true) {
      zs->next_out = job.output.data() + produced;
      zs->avail_out = static_cast<uInt>(job.output.size() - produced);
      int rc = deflate(zs, flush);
      if (rc == Z_STREAM_ERROR) throw Error("gzip: zlib deflate failed");
      produced = job.output.size() - zs->avail_out;
      // Complete when zlib had room to spare (deflate's own contract).
      if (job.last ? rc == Z_STREAM_END : zs->avail_out != 0) break;
      job.output.resize(job.output.size() + kSyncFlushMarkerSize);
    }
    job.output.resize(produced);
  }

  ByteSink sink_;
  std::shared_ptr<Job> filling_;  // the block being filled by Write
  std::vector<std::shared_ptr<Job>> spare_;
  std::vector<unsigned char> dictionary_;  // the last 32 KiB of the previous block
  uLong crc_ = crc32(0, nullptr, 0);
  uint64_t total_size_ = 0;
  size_t max_in_flight_ = 0;

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable job_done_;
  std::deque<std::shared_ptr<Job>> jobs_;  // in stream order
  bool stopping_ = false;
  std::vector<std::unique_ptr<Deflater>> deflaters_;  // one per worker
  std::vector<std::thread> workers_;
};

class ZstdCompressor : public Compressor::Codec {
 public:
  ZstdCompressor(ByteSink sink, int level, int threads)
      : sink_(std::move(sink)), cctx_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
    if (!cctx_) throw Error("zstd: cannot allocate a compression context");
    Set(ZSTD_c_compressionLevel, level, "compression level");
    // A checksum lets a reader tell a corrupt blob from a valid one even
    // before the digest is checked, as Docker's zstd writer does by default.
    Set(ZSTD_c_checksumFlag, 1, "checksum flag");
    // At least one worker even on one CPU: multithreaded output is the same
    // for every worker count, single-threaded output is not.
    Set(ZSTD_c_nbWorkers, std::max(1, threads), "worker count (libzstd built without threads?)");
    Set(ZSTD_c_jobSize, kZstdJobSize, "job size");
  }

  void Write(const void* data, size_t size) override {
    ZSTD_inBuffer in{data, size, 0};
    while (in.pos < in.size) Compress(&in, ZSTD_e_continue);
  }

  void Finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (Compress(&in, ZSTD_e_end) != 0) {
    }
  }

 private:
  void Set(ZSTD_cParameter param, int value, const char* what) {
    size_t rc = ZSTD_CCtx_setParameter(cctx_.get(), param, value);
    if (ZSTD_isError(rc))
      throw Error(std::string("zstd: cannot set ") + what + " to " + std::to_string(value) + ": " +
                  ZSTD_getErrorName(rc));
  }

  // Returns what ZSTD_compressStream2 returns: for ZSTD_e_end, 0 once the
  // frame is complete and flushed.
  size_t Compress(ZSTD_inBuffer* in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx_.get(), &out, in, mode);
    if (ZSTD_isError(rc)) throw Error(std::string("zstd: compression failed: ") + ZSTD_getErrorName(rc));
    if (out.pos) sink_(out_.data(), out.pos);
    return rc;
  }

  ByteSink sink_;
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> cctx_;
  std::vector<unsigned char> out_;
};

}  // namespace

Compressor::Compressor(Compression compression, ByteSink sink, const CompressOptions& options) {
  int threads = options.threads ? options.threads : UsableCpuCount();
  switch (compression) {
    case Compression::kNone:
      codec_ = std::make_unique<PassThroughCompressor>(std::move(sink));
      return;
    case Compression::kGzip:
      codec_ = std::make_unique<GzipCompressor>(std::move(sink), options.level ? options.level : kGzipDefaultLevel,
                                                threads);
      return;
    case Compression::kZstd:
      codec_ = std::make_unique<ZstdCompressor>(std::move(sink), options.level ? options.level : kZstdDefaultLevel,
                                                threads);
      return;
    case Compression::kBzip2:
    case Compression::kXz:
      break;
  }
  throw Error("cannot compress with " + std::string(CompressionName(compression)) +
              ": bld writes layers as gzip, zstd or uncompressed tar");
}

Compressor::~Compressor() = default;

void Compressor::Write(const void* data, size_t size) { codec_->Write(data, size); }

void Compressor::Finish() { codec_->Finish(); }

// ---------------------------------------------------------------------------
// Decompression

class DecompressingReader::Codec {
 public:
  virtual ~Codec() = default;
  virtual size_t Read(void* data, size_t size) = 0;
};

namespace {

// The compressed stream: the bytes already read to detect the format, then
// the rest of the source.
class CompressedInput {
 public:
  CompressedInput(std::string head, ByteSource source) : head_(std::move(head)), source_(std::move(source)) {}

  size_t Read(void* data, size_t size) {
    if (head_pos_ < head_.size()) {
      size_t n = std::min(size, head_.size() - head_pos_);
      std::memcpy(data, head_.data() + head_pos_, n);
      head_pos_ += n;
      return n;
    }
    return source_(data, size);
  }

 private:
  std::string head_;
  size_t head_pos_ = 0;
  ByteSource source_;
};

class PlainReader : public DecompressingReader::Codec {
 public:
  explicit PlainReader(CompressedInput input) : input_(std::move(input)) {}
  size_t Read(void* data, size_t size) override { return input_.Read(data, size); }

 private:
  CompressedInput input_;
};

// Reads gzip, including streams of several concatenated members (what pigz
// and `cat a.gz b.gz` produce, and what RFC 1952 allows).
class GzipReader : public DecompressingReader::Codec {
 public:
  explicit GzipReader(CompressedInput input) : input_(std::move(input)), in_(kGzipReadBufferSize) {
    if (inflateInit2(&zs_, kGzipWindowBits) != Z_OK) throw Error("gzip: cannot initialise zlib");
  }
  ~GzipReader() override { inflateEnd(&zs_); }

  size_t Read(void* data, size_t size) override {
    size_t want = std::min(size, kZlibMaxChunk);
    zs_.next_out = static_cast<unsigned char*>(data);
    zs_.avail_out = static_cast<uInt>(want);
    while (zs_.avail_out == want && want > 0) {
      if (zs_.avail_in == 0 && !eof_) Refill();
      if (member_done_) {
        if (zs_.avail_in == 0) return 0;
        if (inflateReset(&zs_) != Z_OK) throw Error("gzip: cannot reset zlib");
        member_done_ = false;
      }
      int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc == Z_BUF_ERROR) {
        if (eof_ && zs_.avail_in == 0) throw Error("gzip stream is truncated: it ends inside compressed data");
      } else if (rc != Z_OK) {
        throw Error(std::string("gzip stream is corrupt: ") + (zs_.msg ? zs_.msg : "zlib error " + std::to_string(rc)));
      }
    }
    return want - zs_.avail_out;
  }

 private:
  void Refill() {
    size_t n = input_.Read(in_.data(), in_.size());
    if (n == 0) eof_ = true;
    zs_.next_in = in_.data();
    zs_.avail_in = static_cast<uInt>(n);
  }

  CompressedInput input_;
  std::vector<unsigned char> in_;
  z_stream zs_{};
  bool eof_ = false;
  bool member_done_ = false;
};

// Reads zstd, including several concatenated frames and skippable frames.
class ZstdReader : public DecompressingReader::Codec {
 public:
  explicit ZstdReader(CompressedInput input)
      : input_(std::move(input)), dctx_(ZSTD_createDCtx()), buffer_(ZSTD_DStreamInSize()) {
    if (!dctx_) throw Error("zstd: cannot allocate a decompression context");
  }

  size_t Read(void* data, size_t size) override {
    ZSTD_outBuffer out{data, size, 0};
    while (true) {
      if (in_.pos == in_.size && !eof_) Refill();
      bool exhausted = eof_ && in_.pos == in_.size;
      if (exhausted && frame_done_) return 0;
      size_t rc = ZSTD_decompressStream(dctx_.get(), &out, &in_);
      if (ZSTD_isError(rc)) throw Error(std::string("zstd stream is corrupt: ") + ZSTD_getErrorName(rc));
      frame_done_ = rc == 0;
      if (out.pos > 0) return out.pos;
      if (exhausted && !frame_done_) throw Error("zstd stream is truncated: it ends inside a frame");
    }
  }

 private:
  void Refill() {
    size_t n = input_.Read(buffer_.data(), buffer_.size());
    if (n == 0) eof_ = true;
    in_ = ZSTD_inBuffer{buffer_.data(), n, 0};
  }

  CompressedInput input_;
  std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> dctx_;
  std::vector<unsigned char> buffer_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool eof_ = false;
  // True between frames; a stream may only end there.
  bool frame_done_ = false;
};

// bzip2 and xz through libarchive's decompression filters and its "raw"
// format, which hands the decompressed bytes through unparsed.
class ArchiveFilterReader : public DecompressingReader::Codec {
 public:
  ArchiveFilterReader(CompressedInput input, Compression compression)
      : input_(std::move(input)),
        reader_([this](void* data, size_t size) { return input_.Read(data, size); }, ArchiveReader::Format::kRaw,
                compression == Compression::kBzip2 ? ArchiveReader::Filter::kBzip2 : ArchiveReader::Filter::kXz,
                std::string(CompressionName(compression)) + " stream") {
    done_ = reader_.Next() == nullptr;
  }

  size_t Read(void* data, size_t size) override {
    if (done_) return 0;
    size_t n = reader_.ReadData(data, size);
    if (n == 0) done_ = true;
    return n;
  }

 private:
  CompressedInput input_;  // before reader_, which reads it
  ArchiveReader reader_;
  bool done_ = false;
};

}  // namespace

DecompressingReader::DecompressingReader(ByteSource source) {
  std::string head(kCompressionMagicSize, '\0');
  size_t got = 0;
  while (got < head.size()) {
    size_t n = source(head.data() + got, head.size() - got);
    if (n == 0) break;
    got += n;
  }
  head.resize(got);
  compression_ = DetectCompression(head.data(), head.size());
  CompressedInput input(std::move(head), std::move(source));
  switch (compression_) {
    case Compression::kNone: codec_ = std::make_unique<PlainReader>(std::move(input)); break;
    case Compression::kGzip: codec_ = std::make_unique<GzipReader>(std::move(input)); break;
    case Compression::kZstd: codec_ = std::make_unique<ZstdReader>(std::move(input)); break;
    case Compression::kBzip2:
    case Compression::kXz: codec_ = std::make_unique<ArchiveFilterReader>(std::move(input), compression_); break;
  }
}

DecompressingReader::~DecompressingReader() = default;

size_t DecompressingReader::Read(void* data, size_t size) { return size ? codec_->Read(data, size) : 0; }

}  // namespace bld::store
