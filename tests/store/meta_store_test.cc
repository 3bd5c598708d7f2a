#include "store/meta_store.h"

#include <lmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/error.h"

namespace fs = std::filesystem;
using bld::store::MetaStore;
using bld::store::ReadTxn;
using bld::store::Table;
using bld::store::WriteTxn;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/bld-meta-store-test-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string meta() const { return path_ + "/meta"; }

 private:
  std::string path_;
};

// Small enough that a few hundred KiB of records overflow it many times.
constexpr size_t kTinyMapSize = 64 * 1024;

std::optional<std::string> Get(const MetaStore& meta, Table table, const std::string& key) {
  return meta.Read([&](ReadTxn& txn) { return txn.Get(table, key); });
}

// Writes `count` records of `value_size` bytes, one transaction each, as
// "<prefix><i>" -> repeated letter; returns false on any error.
bool WriteRecords(MetaStore& meta, const std::string& prefix, int count, size_t value_size) {
  try {
    for (int i = 0; i < count; ++i) {
      std::string value(value_size, static_cast<char>('a' + i % 26));
      meta.Write([&](WriteTxn& txn) { txn.Put(Table::kCache, prefix + std::to_string(i), value); });
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool HasRecords(const MetaStore& meta, const std::string& prefix, int count, size_t value_size) {
  for (int i = 0; i < count; ++i) {
    std::optional<std::string> value = Get(meta, Table::kCache, prefix + std::to_string(i));
    if (!value || *value != std::string(value_size, static_cast<char>('a' + i % 26))) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a record written in one transaction is read back in the next") {
  TempDir dir;
  MetaStore meta(dir.meta());
  meta.Write([](WriteTxn& txn) { txn.Put(Table::kRefs, "docker.io/library/alpine:3.19", "record"); });
  CHECK(Get(meta, Table::kRefs, "docker.io/library/alpine:3.19") == "record");
  CHECK_FALSE(Get(meta, Table::kRefs, "docker.io/library/alpine:3.20").has_value());
}

TEST_CASE("Read and Write return what their function returns") {
  TempDir dir;
  MetaStore meta(dir.meta());
  bool existed = meta.Write([](WriteTxn& txn) {
    txn.Put(Table::kVolumes, "data", "v");
    return txn.Del(Table::kVolumes, "data");
  });
  CHECK(existed);
  size_t count = meta.Read([](ReadTxn& txn) {
    size_t n = 0;
    txn.Scan(Table::kVolumes, "", [&](std::string_view, std::string_view) { ++n; });
    return n;
  });
  CHECK(count == 0);
}

TEST_CASE("tables are separate key spaces") {
  TempDir dir;
  MetaStore meta(dir.meta());
  meta.Write([](WriteTxn& txn) {
    txn.Put(Table::kCache, "key", "cache record");
    txn.Put(Table::kStatCache, "key", "stat record");
  });
  CHECK(Get(meta, Table::kCache, "key") == "cache record");
  CHECK(Get(meta, Table::kStatCache, "key") == "stat record");
  CHECK_FALSE(Get(meta, Table::kSnapshots, "key").has_value());
}

TEST_CASE("Del removes a key and reports whether it was there") {
  TempDir dir;
  MetaStore meta(dir.meta());
  meta.Write([](WriteTxn& txn) { txn.Put(Table::kContainers, "c1", "x"); });
  CHECK(meta.Write([](WriteTxn& txn) { return txn.Del(Table::kContainers, "c1"); }));
  CHECK_FALSE(meta.Write([](WriteTxn& txn) { return txn.Del(Table::kContainers, "c1"); }));
  CHECK_FALSE(Get(meta, Table::kContainers, "c1").has_value());
}

TEST_CASE("Scan visits exactly the keys with a prefix, in key order") {
  TempDir dir;
  MetaStore meta(dir.meta());
  meta.Write([](WriteTxn& txn) {
    for (const char* key : {"b/2", "a/1", "b/1", "b", "c/1", "b/10"}) txn.Put(Table::kDiffIds, key, key);
  });
  std::vector<std::string> keys;
  meta.Read([&](ReadTxn& txn) {
    txn.Scan(Table::kDiffIds, "b/", [&](std::string_view key, std::string_view value) {
      CHECK(key == value);
      keys.emplace_back(key);
    });
  });
  CHECK(keys == std::vector<std::string>{"b/1", "b/10", "b/2"});

  size_t all = meta.Read([](ReadTxn& txn) {
    size_t n = 0;
    txn.Scan(Table::kDiffIds, "", [&](std::string_view, std::string_view) { ++n; });
    return n;
  });
  CHECK(all == 6);
}

TEST_CASE("an exception inside Write rolls the whole transaction back") {
  TempDir dir;
  MetaStore meta(dir.meta());
  meta.Write([](WriteTxn& txn) { txn.Put(Table::kRefs, "kept", "1"); });
  CHECK_THROWS_WITH(meta.Write([](WriteTxn& txn) {
                      txn.Put(Table::kRefs, "half", "written");
                      txn.Del(Table::kRefs, "kept");
                      throw bld::Error("the step failed");
                    }),
                    "the step failed");
  CHECK_FALSE(Get(meta, Table::kRefs, "half").has_value());
  CHECK(Get(meta, Table::kRefs, "kept") == "1");
}

TEST_CASE("records survive closing and reopening the store") {
  TempDir dir;
  {
    MetaStore meta(dir.meta());
    meta.Write([](WriteTxn& txn) { txn.Put(Table::kSnapshots, "sha256:chain", "record"); });
  }
  MetaStore meta(dir.meta());
  CHECK(Get(meta, Table::kSnapshots, "sha256:chain") == "record");
}

TEST_CASE("the map grows when it is full") {
  TempDir dir;
  MetaStore meta(dir.meta(), MetaStore::Options{kTinyMapSize});
  size_t initial = meta.map_size();
  // Many small transactions, then one transaction bigger than the map.
  REQUIRE(WriteRecords(meta, "small/", 60, 2048));
  std::string big(4096, 'z');
  meta.Write([&](WriteTxn& txn) {
    for (int i = 0; i < 500; ++i) txn.Put(Table::kStatCache, "big/" + std::to_string(i), big);
  });

  CHECK(meta.map_size() > initial);
  CHECK(HasRecords(meta, "small/", 60, 2048));
  CHECK(Get(meta, Table::kStatCache, "big/499") == big);
}

TEST_CASE("a write function that swallows the map-full error is still run again") {
  TempDir dir;
  MetaStore meta(dir.meta(), MetaStore::Options{kTinyMapSize});
  std::string value(4096, 'v');
  int runs = 0;
  meta.Write([&](WriteTxn& txn) {
    ++runs;
    for (int i = 0; i < 100; ++i) {
      try {
        txn.Put(Table::kCache, std::to_string(i), value);
      } catch (...) {
        return;  // a careless caller; the transaction is dead anyway
      }
    }
  });
  CHECK(runs > 1);
  CHECK(Get(meta, Table::kCache, "99") == value);
}

TEST_CASE("a store of another schema version is refused with both versions and its path") {
  TempDir dir;
  { MetaStore meta(dir.meta()); }
  {
    // What a future bld would have written.
    MDB_env* env;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_maxdbs(env, 16) == 0);
    REQUIRE(mdb_env_open(env, dir.meta().c_str(), 0, 0600) == 0);
    MDB_txn* txn;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(txn, "schema", 0, &dbi) == 0);
    MDB_val key{7, const_cast<char*>("version")}, value{2, const_cast<char*>("99")};
    REQUIRE(mdb_put(txn, dbi, &key, &value, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
  }
  CHECK_THROWS_WITH(MetaStore(dir.meta()), Catch::Contains("schema version 99") &&
                                               Catch::Contains("version " + std::to_string(MetaStore::kSchemaVersion)) &&
                                               Catch::Contains(dir.meta()) && Catch::Contains("newer bld"));
}

TEST_CASE("keys LMDB cannot store are refused with a clear error") {
  TempDir dir;
  MetaStore meta(dir.meta());
  std::string long_key(meta.max_key_size() + 1, 'k');
  CHECK_THROWS_WITH(meta.Write([&](WriteTxn& txn) { txn.Put(Table::kStatCache, long_key, "x"); }),
                    Catch::Contains("statcache") && Catch::Contains(std::to_string(long_key.size()) + " bytes") &&
                        Catch::Contains("limit"));
  CHECK_THROWS_WITH(meta.Read([](ReadTxn& txn) { return txn.Get(Table::kRefs, ""); }),
                    Catch::Contains("empty key"));
}

TEST_CASE("two processes writing to one store at the same time both succeed") {
  TempDir dir;
  { MetaStore create(dir.meta(), MetaStore::Options{kTinyMapSize}); }
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Each process opens its own environment: LMDB handles do not survive fork.
    bool ok = false;
    try {
      MetaStore meta(dir.meta(), MetaStore::Options{kTinyMapSize});
      ok = WriteRecords(meta, "child/", 100, 2000);
    } catch (...) {
    }
    ::_exit(ok ? 0 : 1);
  }
  bool parent_ok;
  {
    MetaStore meta(dir.meta(), MetaStore::Options{kTinyMapSize});
    parent_ok = WriteRecords(meta, "parent/", 100, 2000);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(parent_ok);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  MetaStore meta(dir.meta());
  CHECK(HasRecords(meta, "parent/", 100, 2000));
  CHECK(HasRecords(meta, "child/", 100, 2000));
}

TEST_CASE("threads read while other threads grow the map") {
  TempDir dir;
  MetaStore meta(dir.meta(), MetaStore::Options{kTinyMapSize});
  meta.Write([](WriteTxn& txn) { txn.Put(Table::kRefs, "stable", "value"); });
  std::atomic<bool> done{false};
  std::atomic<int> bad_reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done) {
        if (Get(meta, Table::kRefs, "stable") != "value") ++bad_reads;
      }
    });
  }
  bool ok1 = false, ok2 = false;
  std::thread w1([&] { ok1 = WriteRecords(meta, "w1/", 50, 4000); });
  std::thread w2([&] { ok2 = WriteRecords(meta, "w2/", 50, 4000); });
  w1.join();
  w2.join();
  done = true;
  for (std::thread& t : readers) t.join();

  CHECK(ok1);
  CHECK(ok2);
  CHECK(bad_reads == 0);
  CHECK(HasRecords(meta, "w1/", 50, 4000));
  CHECK(HasRecords(meta, "w2/", 50, 4000));
}

TEST_CASE("a writer commits while a reader holds its snapshot open, and the reader keeps its view") {
  TempDir dir;
  MetaStore meta(dir.meta());
  meta.Write([](WriteTxn& txn) { txn.Put(Table::kRefs, "app", "v1"); });
  std::atomic<bool> written{false};
  std::optional<std::string> seen_before, seen_after;
  meta.Read([&](ReadTxn& txn) {
    seen_before = txn.Get(Table::kRefs, "app");
    // The write runs to its commit while this read transaction is open: if
    // readers blocked writers, join() would never return.
    std::thread writer([&] {
      meta.Write([](WriteTxn& w) { w.Put(Table::kRefs, "app", "v2"); });
      written = true;
    });
    writer.join();
    seen_after = txn.Get(Table::kRefs, "app");
    return 0;
  });
  CHECK(written);
  CHECK(seen_before == "v1");
  CHECK(seen_after == "v1");  // a reader's snapshot does not move under it
  CHECK(Get(meta, Table::kRefs, "app") == "v2");
}
