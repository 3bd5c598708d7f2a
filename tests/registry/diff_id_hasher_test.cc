// A layer's diffID computed from its compressed bytes as they stream in.
#include "registry/diff_id_hasher.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "store/error.h"
#include "support/process.h"
#include "support/registry_test_image.h"

using bld::registry::DiffIdHasher;
using bld::testing::Gzip;
using bld::testing::MakeTar;
using bld::testing::RandomBytes;
using bld::testing::Sha256Digest;

namespace {

void Feed(DiffIdHasher& hasher, const std::string& data, size_t piece) {
  for (size_t i = 0; i < data.size(); i += piece) hasher.Write(data.data() + i, std::min(piece, data.size() - i));
}

}  // namespace

TEST_CASE("the diffID of a gzip layer is the sha256 of its tar, whatever the pieces it arrives in") {
  std::string tar = MakeTar({{"a.bin", RandomBytes(3 << 20, 1)}, {"b.txt", std::string(100000, 'b')}});
  std::string gz = Gzip(tar);
  for (size_t piece : {size_t{1} << 10, size_t{16} << 10, size_t{5} << 20}) {
    DiffIdHasher hasher;
    Feed(hasher, gz, piece);
    CHECK(hasher.Finish().str() == Sha256Digest(tar));
  }
}

TEST_CASE("the diffID of an uncompressed layer is its own digest") {
  std::string tar = MakeTar({{"plain", "content"}});
  DiffIdHasher hasher;
  Feed(hasher, tar, 100);
  CHECK(hasher.Finish().str() == Sha256Digest(tar));
}

TEST_CASE("a corrupt gzip stream is an error at the end, and never blocks the writer") {
  std::string gz = Gzip(MakeTar({{"a.bin", RandomBytes(8 << 20, 2)}}));
  gz[gz.size() / 2] ^= 0x55;
  gz.resize(gz.size() - 100);
  DiffIdHasher hasher;
  Feed(hasher, gz, 64 << 10);
  CHECK_THROWS_AS(hasher.Finish(), bld::Error);
}

TEST_CASE("a hasher dropped unfinished stops its thread") {
  std::string gz = Gzip(MakeTar({{"a.bin", RandomBytes(1 << 20, 3)}}));
  DiffIdHasher hasher;
  Feed(hasher, gz.substr(0, gz.size() / 2), 4096);
}

TEST_CASE("a hasher given a directory applies the layer into it and gives the same diffID") {
  std::string tar = MakeTar({{"dir/a.bin", RandomBytes(1 << 20, 4)}, {"b.txt", "bee\n"}});
  bld::testing::TempDir dir;
  DiffIdHasher hasher(dir.path());
  Feed(hasher, Gzip(tar), 16 << 10);
  CHECK(hasher.Finish().str() == Sha256Digest(tar));
  CHECK(bld::testing::ReadFile(dir / "b.txt") == "bee\n");
  CHECK(bld::testing::ReadFile(dir / "dir/a.bin") == RandomBytes(1 << 20, 4));
}

TEST_CASE("a layer the applier refuses is an error of the hasher that unpacks it") {
  std::string tar = MakeTar({{"../escape.txt", "out\n"}});
  bld::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/root");
  DiffIdHasher hasher(dir.path() + "/root");
  Feed(hasher, Gzip(tar), 4096);
  CHECK_THROWS_AS(hasher.Finish(), bld::Error);
  CHECK_FALSE(std::filesystem::exists(dir / "escape.txt"));
}
