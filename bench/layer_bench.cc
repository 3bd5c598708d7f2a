// Driver for bench/layer_bench.sh: generates the benchmark tree, writes a
// layer from a directory, applies a layer to a directory. Each command prints
// one line of key=value pairs for the script to collect; /usr/bin/time around
// it gives the peak memory.
//
//   layer_bench generate <dir> <total-bytes> <files>
//   layer_bench write <dir> <none|gzip|zstd> <blob-file>
//   layer_bench apply <blob-file> <target-dir> [overlay]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "store/error.h"
#include "store/layer_applier.h"
#include "store/layer_writer.h"

namespace fs = std::filesystem;
using namespace bld::store;

namespace {

// The tree: mostly small files, some medium, a few large ones holding most
// of the bytes, as in a typical application image. Half the files hold text
// that compresses about 3:1, the other half random bytes (already compressed
// data: jars, .so files with compressed sections, images).
constexpr double kSmallShare = 0.95;   // of files, 1-16 KiB
constexpr double kMediumShare = 0.04;  // of files, 64 KiB-1 MiB; the rest large
constexpr int kFilesPerDirectory = 100;
constexpr unsigned kSeed = 20240601;
constexpr size_t kGenerateChunk = 1 << 20;

class File {
 public:
  File(const std::string& path, int flags) : fd_(open(path.c_str(), flags | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw bld::SysError("cannot open " + path);
  }
  ~File() { close(fd_); }
  void Write(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t n = write(fd_, p, size);
      if (n < 0) throw bld::SysError("write failed");
      p += n;
      size -= static_cast<size_t>(n);
    }
  }
  size_t Read(void* data, size_t size) {
    ssize_t n = read(fd_, data, size);
    if (n < 0) throw bld::SysError("read failed");
    return static_cast<size_t>(n);
  }

 private:
  int fd_;
};

void FillText(std::mt19937_64& rng, std::string& buffer, size_t size) {
  static const char* kWords[] = {"layer",  "digest", "config", "manifest", "registry", "build",  "cache",
                                 "stage",  "step",   "copy",   "run",      "image",    "blob",   "tar",
                                 "gzip",   "zstd",   "docker", "overlay",  "snapshot", "commit", "index",
                                 "struct", "return", "const",  "static",   "include",  "namespace"};
  buffer.clear();
  while (buffer.size() < size) {
    buffer += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
    buffer += (rng() % 12 == 0) ? "\n" : " ";
    if (rng() % 5 == 0) buffer += std::to_string(rng() % 100000);
  }
  buffer.resize(size);
}

void FillRandom(std::mt19937_64& rng, std::string& buffer, size_t size) {
  buffer.resize(size);
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng();
    std::memcpy(buffer.data() + i, &v, std::min<size_t>(8, size - i));
  }
}

int Generate(const std::string& dir, uint64_t total, size_t files) {
  std::mt19937_64 rng(kSeed);
  std::vector<uint64_t> sizes(files);
  size_t small = static_cast<size_t>(files * kSmallShare);
  size_t medium = static_cast<size_t>(files * kMediumShare);
  uint64_t used = 0;
  for (size_t i = 0; i < files; ++i) {
    if (i < small) {
      sizes[i] = 1024 + rng() % (15 * 1024);
    } else if (i < small + medium) {
      sizes[i] = 64 * 1024 + rng() % (960 * 1024);
    } else {
      continue;
    }
    used += sizes[i];
  }
  size_t large = files - small - medium;
  if (used >= total || large == 0) throw bld::Error("the total size is too small for the file mix");
  for (size_t i = small + medium; i < files; ++i) sizes[i] = (total - used) / large;
  sizes[files - 1] += (total - used) % large;
  std::shuffle(sizes.begin(), sizes.end(), rng);

  std::string buffer;
  for (size_t i = 0; i < files; ++i) {
    size_t d = i / kFilesPerDirectory;
    std::string sub = dir + "/d" + std::to_string(d % 10) + "/d" + std::to_string(d);
    fs::create_directories(sub);
    File out(sub + "/f" + std::to_string(i) + (i % 2 ? ".txt" : ".bin"), O_WRONLY | O_CREAT | O_TRUNC);
    for (uint64_t left = sizes[i]; left > 0;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, kGenerateChunk));
      if (i % 2) {
        FillText(rng, buffer, n);
      } else {
        FillRandom(rng, buffer, n);
      }
      out.Write(buffer.data(), n);
      left -= n;
    }
  }
  std::printf("generated files=%zu bytes=%llu\n", files, static_cast<unsigned long long>(total));
  return 0;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Write(const std::string& dir, const std::string& compression, const std::string& blob_path) {
  LayerWriteOptions options;
  options.compression = compression == "gzip"   ? Compression::kGzip
                        : compression == "zstd" ? Compression::kZstd
                                                : Compression::kNone;
  File out(blob_path, O_WRONLY | O_CREAT | O_TRUNC);
  auto start = std::chrono::steady_clock::now();
  LayerInfo info = WriteLayerFromDirectory(dir, options, [&](const void* p, size_t n) { out.Write(p, n); });
  double seconds = Seconds(start);
  std::printf("write compression=%s seconds=%.2f tar_bytes=%llu blob_bytes=%llu mib_per_s=%.1f diff_id=%s digest=%s\n",
              compression.c_str(), seconds, static_cast<unsigned long long>(info.uncompressed_size),
              static_cast<unsigned long long>(info.compressed_size), info.uncompressed_size / seconds / (1 << 20),
              info.diff_id.str().c_str(), info.digest.str().c_str());
  return 0;
}

int Apply(const std::string& blob_path, const std::string& target, bool overlay) {
  File in(blob_path, O_RDONLY);
  ApplyOptions options;
  options.mode = overlay ? ApplyMode::kOverlay : ApplyMode::kPlain;
  auto start = std::chrono::steady_clock::now();
  ApplyResult result = ApplyLayer([&](void* p, size_t n) { return in.Read(p, n); }, target, options);
  double seconds = Seconds(start);
  std::printf("apply compression=%s seconds=%.2f tar_bytes=%llu mib_per_s=%.1f diff_id=%s warnings=%zu\n",
              std::string(CompressionName(result.compression)).c_str(), seconds,
              static_cast<unsigned long long>(result.uncompressed_size), result.uncompressed_size / seconds / (1 << 20),
              result.diff_id.str().c_str(), result.warnings.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 4 && args[0] == "generate") return Generate(args[1], std::stoull(args[2]), std::stoull(args[3]));
    if (args.size() == 4 && args[0] == "write") return Write(args[1], args[2], args[3]);
    if ((args.size() == 3 || args.size() == 4) && args[0] == "apply")
      return Apply(args[1], args[2], args.size() == 4 && args[3] == "overlay");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "layer_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: layer_bench generate <dir> <total-bytes> <files>\n"
               "       layer_bench write <dir> <none|gzip|zstd> <blob-file>\n"
               "       layer_bench apply <blob-file> <target-dir> [overlay]\n");
  return 2;
}
