#include "store/compression.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "store/error.h"
#include "support/process.h"

using bld::store::Compression;
using bld::store::Compressor;
using bld::store::CompressOptions;
using bld::store::DecompressingReader;
using bld::store::DetectCompression;

namespace {

// Half random bytes, half repetitive text: both code paths of a compressor.
std::string SampleData(size_t size, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::string data;
  data.reserve(size);
  while (data.size() < size) {
    if (data.size() / 4096 % 2 == 0) {
      for (int i = 0; i < 4096 && data.size() < size; ++i) data.push_back(static_cast<char>(rng()));
    } else {
      data += "the quick brown fox jumps over the lazy dog " + std::to_string(data.size()) + "\n";
    }
  }
  data.resize(size);
  return data;
}

std::string Compress(Compression c, const std::string& data, CompressOptions options = {}) {
  std::string out;
  Compressor compressor(c, [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }, options);
  // Uneven pieces, as a tar writer would produce them.
  for (size_t pos = 0; pos < data.size();) {
    size_t n = std::min<size_t>(data.size() - pos, 1 + pos % 70000);
    compressor.Write(data.data() + pos, n);
    pos += n;
  }
  compressor.Finish();
  return out;
}

// A source that hands out at most `chunk` bytes per call.
bld::store::ByteSource StringSource(const std::string& data, size_t chunk = 1 << 20) {
  auto pos = std::make_shared<size_t>(0);
  return [&data, pos, chunk](void* out, size_t size) {
    size_t n = std::min({size, chunk, data.size() - *pos});
    std::memcpy(out, data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

std::string Decompress(const std::string& blob, Compression* detected = nullptr, size_t chunk = 1 << 20) {
  DecompressingReader reader(StringSource(blob, chunk));
  if (detected) *detected = reader.compression();
  std::string out;
  char buffer[7777];
  while (size_t n = reader.Read(buffer, sizeof(buffer))) out.append(buffer, n);
  return out;
}

// bzip2 and xz streams, made with libarchive's write filters.
std::string CompressWithLibarchive(Compression c, const std::string& data) {
  archive* a = archive_write_new();
  REQUIRE((c == Compression::kBzip2 ? archive_write_add_filter_bzip2(a) : archive_write_add_filter_xz(a)) ==
          ARCHIVE_OK);
  REQUIRE(archive_write_set_format_raw(a) == ARCHIVE_OK);
  std::string out(data.size() + 65536, '\0');
  size_t used = 0;
  REQUIRE(archive_write_open_memory(a, out.data(), out.size(), &used) == ARCHIVE_OK);
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
  REQUIRE(archive_write_data(a, data.data(), data.size()) == static_cast<la_ssize_t>(data.size()));
  archive_entry_free(e);
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
  out.resize(used);
  return out;
}

}  // namespace

TEST_CASE("DetectCompression recognizes gzip, zstd, bzip2 and xz magic bytes", "[compression]") {
  auto detect = [](std::initializer_list<unsigned char> bytes) {
    std::string s(bytes.begin(), bytes.end());
    return DetectCompression(s.data(), s.size());
  };
  CHECK(detect({0x1f, 0x8b, 0x08, 0, 0}) == Compression::kGzip);
  CHECK(detect({0x28, 0xb5, 0x2f, 0xfd, 0x04}) == Compression::kZstd);
  CHECK(detect({0x5e, 0x2a, 0x4d, 0x18, 0, 0, 0, 0}) == Compression::kZstd);  // skippable frame first
  CHECK(detect({0xfd, '7', 'z', 'X', 'Z', 0x00, 0x00}) == Compression::kXz);
  CHECK(detect({'B', 'Z', 'h', '9', 0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) == Compression::kBzip2);
  CHECK(detect({}) == Compression::kNone);
  CHECK(detect({'e', 't', 'c', '/', 0}) == Compression::kNone);
}

TEST_CASE("a tar whose first name starts with BZh is not taken for bzip2", "[compression]") {
  std::string tar_name = "BZh9-notes.txt";
  tar_name.resize(100, '\0');
  CHECK(DetectCompression(tar_name.data(), tar_name.size()) == Compression::kNone);
}

TEST_CASE("gzip and zstd round-trip through the decompressing reader", "[compression]") {
  std::string data = SampleData(3 << 20);
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    INFO(bld::store::CompressionName(c));
    std::string blob = Compress(c, data);
    if (c != Compression::kNone) CHECK(blob.size() < data.size());
    Compression detected;
    CHECK(Decompress(blob, &detected, 1000) == data);
    CHECK(detected == c);
  }
}

TEST_CASE("bzip2 and xz streams are read through libarchive", "[compression]") {
  std::string data = SampleData(300000);
  for (Compression c : {Compression::kBzip2, Compression::kXz}) {
    INFO(bld::store::CompressionName(c));
    Compression detected;
    CHECK(Decompress(CompressWithLibarchive(c, data), &detected, 4096) == data);
    CHECK(detected == c);
  }
}

TEST_CASE("an empty stream reads as empty", "[compression]") {
  Compression detected;
  CHECK(Decompress("", &detected).empty());
  CHECK(detected == Compression::kNone);
  CHECK(Decompress(Compress(Compression::kGzip, "")).empty());
  CHECK(Decompress(Compress(Compression::kZstd, "")).empty());
}

TEST_CASE("concatenated gzip members read as one stream", "[compression]") {
  std::string blob = Compress(Compression::kGzip, "first member\n") + Compress(Compression::kGzip, "second member\n");
  CHECK(Decompress(blob, nullptr, 3) == "first member\nsecond member\n");
}

TEST_CASE("concatenated zstd frames and skippable frames read as one stream", "[compression]") {
  const unsigned char skippable[] = {0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'x', 'y', 'z'};
  std::string blob(reinterpret_cast<const char*>(skippable), sizeof(skippable));
  blob += Compress(Compression::kZstd, "one ") + Compress(Compression::kZstd, "two");
  Compression detected;
  CHECK(Decompress(blob, &detected, 5) == "one two");
  CHECK(detected == Compression::kZstd);
}

TEST_CASE("truncated compressed streams are refused", "[compression]") {
  std::string data = SampleData(200000);
  std::string gz = Compress(Compression::kGzip, data);
  CHECK_THROWS_WITH(Decompress(gz.substr(0, gz.size() / 2)), Catch::Contains("gzip stream is truncated"));
  // Only the 8-byte trailer (CRC and size) missing.
  CHECK_THROWS_WITH(Decompress(gz.substr(0, gz.size() - 4)), Catch::Contains("gzip stream is truncated"));
  std::string zst = Compress(Compression::kZstd, data);
  CHECK_THROWS_WITH(Decompress(zst.substr(0, zst.size() - 3)), Catch::Contains("zstd stream is truncated"));
}

TEST_CASE("corrupt compressed streams are refused", "[compression]") {
  std::string data = SampleData(200000);
  std::string gz = Compress(Compression::kGzip, data);
  gz[gz.size() - 6] ^= 0x55;  // the CRC
  CHECK_THROWS_WITH(Decompress(gz), Catch::Contains("gzip stream is corrupt"));
  std::string zst = Compress(Compression::kZstd, data);
  zst[zst.size() - 2] ^= 0x55;  // the content checksum
  CHECK_THROWS_WITH(Decompress(zst), Catch::Contains("zstd stream is corrupt"));
  std::string bz = CompressWithLibarchive(Compression::kBzip2, data);
  bz[bz.size() / 2] ^= 0x55;
  CHECK_THROWS_WITH(Decompress(bz), Catch::Contains("bzip2"));
  CHECK_THROWS_WITH(Decompress(Compress(Compression::kGzip, "x") + "garbage after the end"),
                    Catch::Contains("gzip stream is corrupt"));
}

TEST_CASE("compressed output is the same for the same input", "[compression]") {
  std::string data = SampleData(1 << 20);
  CHECK(Compress(Compression::kGzip, data) == Compress(Compression::kGzip, data));
  CHECK(Compress(Compression::kZstd, data) == Compress(Compression::kZstd, data));
}

TEST_CASE("compressed output does not depend on the number of threads", "[compression]") {
  // Many blocks and jobs, so that several workers really share the work.
  std::string data = SampleData(12 << 20);
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    INFO(bld::store::CompressionName(c));
    std::string one = Compress(c, data, {.level = 0, .threads = 1});
    CHECK(Compress(c, data, {.level = 0, .threads = 2}) == one);
    CHECK(Compress(c, data, {.level = 0, .threads = 5}) == one);
    CHECK(Decompress(one) == data);
  }
}

TEST_CASE("parallel gzip output is a standard gzip stream", "[compression]") {
  std::string data = SampleData(1 << 20);
  std::string blob = Compress(Compression::kGzip, data, {.level = 0, .threads = 3});
  bld::testing::TempDir dir;
  std::string path = dir / "parallel.gz";
  bld::testing::WriteFile(path, blob);
  // gzip -t checks the deflate stream, the CRC and the length.
  CHECK(std::system(("gzip -t " + path).c_str()) == 0);
  // Within 1% of one zlib stream at the same level.
  uLongf single = compressBound(data.size());
  std::string reference(single, '\0');
  REQUIRE(compress2(reinterpret_cast<Bytef*>(reference.data()), &single,
                    reinterpret_cast<const Bytef*>(data.data()), data.size(), 6) == Z_OK);
  CHECK(blob.size() < 1.01 * single);
}

TEST_CASE("the compression level is honoured", "[compression]") {
  std::string data = SampleData(1 << 20);
  CHECK(Compress(Compression::kGzip, data, {.level = 1}) != Compress(Compression::kGzip, data, {.level = 9}));
  CHECK(Decompress(Compress(Compression::kZstd, data, {.level = 19})) == data);
  CHECK_THROWS_WITH(Compress(Compression::kGzip, data, {.level = 42}), Catch::Contains("level 42"));
}

TEST_CASE("bld does not write bzip2 or xz", "[compression]") {
  auto sink = [](const void*, size_t) {};
  CHECK_THROWS_WITH(Compressor(Compression::kXz, sink), Catch::Contains("bld writes layers as gzip, zstd"));
  CHECK_THROWS_AS(Compressor(Compression::kBzip2, sink), bld::Error);
}

TEST_CASE("a failing source reaches the reader's caller unchanged", "[compression]") {
  std::string bz = CompressWithLibarchive(Compression::kBzip2, SampleData(100000));
  size_t served = 0;
  bld::store::ByteSource source = [&](void* out, size_t size) -> size_t {
    if (served >= 20) throw bld::Error("network went away");
    size_t n = std::min<size_t>(size, 20 - served);
    std::memcpy(out, bz.data() + served, n);
    served += n;
    return n;
  };
  auto read_all = [&] {
    DecompressingReader reader(source);
    char buffer[4096];
    while (reader.Read(buffer, sizeof(buffer))) {
    }
  };
  CHECK_THROWS_WITH(read_all(), "network went away");
}
