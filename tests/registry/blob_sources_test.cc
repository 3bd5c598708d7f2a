// Where blobs came from, kept in the store for cross-repository mounts.
#include "registry/blob_sources.h"

#include <catch2/catch.hpp>

#include "support/process.h"

using bld::registry::BlobSource;
using bld::registry::BlobSources;
using bld::registry::RecordBlobSources;
using bld::store::Digest;
using bld::store::Sha256;
using bld::store::Store;
using bld::testing::TempDir;

TEST_CASE("blob sources are recorded per digest and read back sorted") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  Digest a = Sha256::Of("a"), b = Sha256::Of("b");
  RecordBlobSources(*store, {a, b}, {"127.0.0.1:5000", "team/app"});
  RecordBlobSources(*store, {a}, {"127.0.0.1:5000", "library/base"});
  RecordBlobSources(*store, {a}, {"127.0.0.1:5000", "team/app"});
  CHECK(BlobSources(*store, a) ==
        std::vector<BlobSource>{{"127.0.0.1:5000", "library/base"}, {"127.0.0.1:5000", "team/app"}});
  CHECK(BlobSources(*store, b) == std::vector<BlobSource>{{"127.0.0.1:5000", "team/app"}});
  CHECK(BlobSources(*store, Sha256::Of("c")).empty());
}

TEST_CASE("blob sources stay out of the store's blob records") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  Digest a = Sha256::Of("a");
  RecordBlobSources(*store, {a}, {"r.example.com", "x"});
  CHECK_FALSE(store->BlobRecord(a));
}

TEST_CASE("a source too long for an index key is skipped, not an error") {
  TempDir dir;
  auto store = Store::Open(dir / "store");
  Digest a = Sha256::Of("a");
  RecordBlobSources(*store, {a}, {"r.example.com", std::string(600, 'x')});
  CHECK(BlobSources(*store, a).empty());
}
