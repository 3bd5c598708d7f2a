// A layer's diffID (the sha256 of its uncompressed tar) computed from the
// compressed bytes as they arrive from the registry, so that a pull checks
// each layer against its image config before storing it, without reading
// the blob a second time.
//
// The store's DecompressingReader pulls its input; a download pushes it. So
// the decompressor runs on a thread of its own, fed through a queue bounded
// at kMaxQueuedBytes: memory stays flat whatever the layer size, and on a
// multi-core machine inflating and hashing the layer run beside the download
// and its digest check.
//
// Given a directory, the decompressor's thread also applies the layer into
// it (store/layer_applier.h, overlay format) as it hashes: a pull that fills
// snapshots (store/layer_unpack.h) reads each layer once.
//
// Thread safety: Write and Finish are called by one thread (the download's).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "store/digest.h"

namespace bld::registry {

class DiffIdHasher {
 public:
  // Enough to absorb a burst of a fast download while the decompressor
  // catches up; more only costs memory.
  static constexpr size_t kMaxQueuedBytes = 2 << 20;

  // `unpack_dir`, when not empty: an empty directory to apply the layer into.
  explicit DiffIdHasher(std::string unpack_dir = "");
  // Stops the decompressor; a hasher not finished is abandoned.
  ~DiffIdHasher();
  DiffIdHasher(const DiffIdHasher&) = delete;
  DiffIdHasher& operator=(const DiffIdHasher&) = delete;

  // The next bytes of the blob. Blocks while the queue is full. Once the
  // decompressor has stopped (end of stream or an error), bytes are dropped;
  // Finish reports why.
  void Write(const char* data, size_t size);
  // The end of the blob: the sha256 of everything it decompresses to (gzip,
  // zstd or plain, detected from its first bytes). Throws bld::Error if the
  // blob is not a valid stream of its format.
  store::Digest Finish();

 private:
  void Run();
  // Ends the decompressor's side: later input is dropped.
  void Stop();
  // The decompressor's input: the next queued bytes, 0 at the end.
  size_t Next(void* out, size_t size);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool input_done_ = false;
  bool stopped_ = false;
  std::exception_ptr error_;
  store::Digest result_;
  const std::string unpack_dir_;
  // The chunk the decompressor is reading; touched by its thread only.
  std::string current_;
  size_t current_offset_ = 0;
  std::thread thread_;
};

}  // namespace bld::registry
