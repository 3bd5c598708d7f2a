#include "registry/diff_id_hasher.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "store/compression.h"
#include "store/layer_applier.h"

namespace bld::registry {

namespace {

// The decompressor's output buffer.
constexpr size_t kReadBufferSize = 256 * 1024;

}  // namespace

DiffIdHasher::DiffIdHasher(std::string unpack_dir) : unpack_dir_(std::move(unpack_dir)), thread_([this] { Run(); }) {}

DiffIdHasher::~DiffIdHasher() {
  {
    std::lock_guard lock(mutex_);
    input_done_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DiffIdHasher::Write(const char* data, size_t size) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return stopped_ || queued_bytes_ < kMaxQueuedBytes; });
  if (stopped_) return;
  queue_.emplace_back(data, size);
  queued_bytes_ += size;
  lock.unlock();
  changed_.notify_all();
}

store::Digest DiffIdHasher::Finish() {
  {
    std::lock_guard lock(mutex_);
    input_done_ = true;
  }
  changed_.notify_all();
  thread_.join();
  if (error_) std::rethrow_exception(error_);
  return result_;
}

size_t DiffIdHasher::Next(void* out, size_t size) {
  while (current_offset_ == current_.size()) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || input_done_; });
    if (queue_.empty()) return 0;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= current_.size();
    current_offset_ = 0;
    lock.unlock();
    changed_.notify_all();
  }
  size_t n = std::min(size, current_.size() - current_offset_);
  std::memcpy(out, current_.data() + current_offset_, n);
  current_offset_ += n;
  return n;
}

void DiffIdHasher::Run() {
  try {
    if (!unpack_dir_.empty()) {
      store::ApplyOptions options;
      options.mode = store::ApplyMode::kOverlay;
      result_ = store::ApplyLayer([this](void* out, size_t size) { return Next(out, size); }, unpack_dir_, options)
                    .diff_id;
      Stop();
      return;
    }
    store::DecompressingReader reader([this](void* out, size_t size) { return Next(out, size); });
    store::Sha256 hash;
    std::vector<char> buffer(kReadBufferSize);
    while (size_t n = reader.Read(buffer.data(), buffer.size())) hash.Update(buffer.data(), n);
    result_ = hash.Finish();
  } catch (...) {
    error_ = std::current_exception();
  }
  Stop();
}

void DiffIdHasher::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  changed_.notify_all();
}

}  // namespace bld::registry
