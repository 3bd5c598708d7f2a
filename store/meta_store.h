// The store's index: named tables of small records in an LMDB environment at
// <root>/meta (names and keys to digests; never blob content, see docs/design.md).
//
// Callers see typed tables and byte strings, never LMDB:
//
//   auto ref = meta.Read([&](ReadTxn& t) { return t.Get(Table::kRefs, name); });
//   meta.Write([&](WriteTxn& t) { t.Put(Table::kCache, key, record); });
//
// The rules that keep several bld processes fast on one store:
//  - A write transaction does no I/O and no waiting: no blob reads, no
//    network, no hashing of files. LMDB allows one writer at a time across all
//    processes, so whatever a write function waits on, every other build waits
//    on too. Do the work first, then write its result in one short Write.
//  - A write function may run more than once: when the map is full, the
//    transaction is aborted, the map grown and the function run again. It must
//    therefore have no effects outside the transaction (which the first rule
//    already gives). Do not catch exceptions inside it; if it throws, the
//    transaction is rolled back and the exception propagates.
//  - Readers never block writers (LMDB's MVCC), but a read transaction pins the
//    pages it sees: keep read functions short and free of I/O too.
//  - Transactions do not nest: do not call Read or Write from inside one.
//  - Each Write commits durably (fsync); batch related puts into one Write.
//
// Several processes may open one environment at once (LMDB's lock file
// serializes writers). When another process grows the map, this one adopts
// the new size on its next transaction. A store written by another schema
// version is refused at open with both versions in the message.
//
// Thread safety: Read and Write may be called from any number of threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// From <lmdb.h>, which only meta_store.cc includes.
struct MDB_env;
struct MDB_txn;

namespace bld::store {

// The tables; their keys and record formats are in docs/store-format.md.
enum class Table {
  kRefs,        // image name -> descriptor of its manifest (JSON)
  kBlobs,       // blob digest -> size and media type (JSON)
  kDiffIds,     // "<diffID>/<blob digest>" -> empty: the blobs holding a layer
  kBlobDiffIds, // blob digest -> diffID of the layer it compresses
  kCache,       // build cache key -> record owned by the builder
  kSnapshots,   // snapshot id -> record owned by the runner
  kContainers,  // container id -> record owned by the runner
  kVolumes,     // volume name -> record owned by the runner
  kStatCache,   // build context file key -> record owned by the builder
};
inline constexpr size_t kTableCount = 9;
std::string_view TableName(Table table);

class MetaStore;

class ReadTxn {
 public:
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

  std::optional<std::string> Get(Table table, std::string_view key) const;
  // Calls fn(key, value) for each key that starts with `prefix` (all keys if
  // it is empty), in key order. The views are valid only during the call. fn
  // must not modify the table; collect keys first, then Del them.
  void Scan(Table table, std::string_view prefix,
            const std::function<void(std::string_view key, std::string_view value)>& fn) const;

 protected:
  friend class MetaStore;
  ReadTxn(const MetaStore& meta, MDB_txn* txn) : meta_(meta), txn_(txn) {}

  const MetaStore& meta_;
  MDB_txn* txn_;
};

class WriteTxn : public ReadTxn {
 public:
  void Put(Table table, std::string_view key, std::string_view value);
  // Returns false if the key was not there.
  bool Del(Table table, std::string_view key);

 private:
  friend class MetaStore;
  WriteTxn(const MetaStore& meta, MDB_txn* txn) : ReadTxn(meta, txn) {}

  // Set when LMDB ran out of map space, even if the caller swallowed the
  // exception that reported it: the transaction is dead either way.
  bool map_full_ = false;
};

class MetaStore {
 public:
  // Version 1: the tables above. Bump it when a key or record format changes
  // in a way older readers would misread.
  static constexpr uint32_t kSchemaVersion = 1;
  // The map is address space, not disk: the data file only grows as pages are
  // written. 1 GiB holds millions of cache and stat-cache records, so growing
  // (which waits for every transaction in the process) is rare.
  static constexpr size_t kDefaultMapSize = size_t{1} << 30;

  struct Options {
    size_t map_size = kDefaultMapSize;
  };

  // Opens or creates the environment in `dir` (created if missing).
  MetaStore(std::string dir, const Options& options);
  explicit MetaStore(std::string dir) : MetaStore(std::move(dir), Options{}) {}
  ~MetaStore();
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;

  const std::string& dir() const { return dir_; }
  // The current size of the memory map, in bytes.
  size_t map_size() const;
  // The longest key LMDB accepts (511 bytes in Debian's build).
  size_t max_key_size() const;

  // Runs fn(ReadTxn&) in a read transaction and returns what it returns.
  template <typename Fn>
  auto Read(Fn&& fn) const {
    return Returning<ReadTxn>([this](const std::function<void(ReadTxn&)>& body) { RunRead(body); }, fn);
  }

  // Runs fn(WriteTxn&) in a write transaction, commits, and returns what fn
  // returned. See the rules above: no I/O inside, and fn may run again.
  template <typename Fn>
  auto Write(Fn&& fn) {
    return Returning<WriteTxn>([this](const std::function<void(WriteTxn&)>& body) { RunWrite(body); }, fn);
  }

  // The record `key` of `table`, or nullopt; one read transaction.
  std::optional<std::string> Get(Table table, std::string_view key) const;
  // Every record of `table` whose key starts with `prefix`, as (key, value)
  // in key order; one read transaction.
  std::vector<std::pair<std::string, std::string>> List(Table table, std::string_view prefix = "") const;

 private:
  friend class ReadTxn;
  friend class WriteTxn;
  struct EnvCloser {
    void operator()(MDB_env* env) const;
  };

  // Runs fn in a transaction through `run` (RunRead or RunWrite) and returns
  // what fn returned, if anything.
  template <typename Txn, typename Run, typename Fn>
  static auto Returning(Run&& run, Fn& fn) {
    using Result = std::invoke_result_t<Fn&, Txn&>;
    if constexpr (std::is_void_v<Result>) {
      run([&](Txn& txn) { fn(txn); });
    } else {
      std::optional<Result> result;
      run([&](Txn& txn) { result.emplace(fn(txn)); });
      return std::move(*result);
    }
  }

  void RunRead(const std::function<void(ReadTxn&)>& fn) const;
  void RunWrite(const std::function<void(WriteTxn&)>& fn);
  // Begins a transaction, adopting a map grown by another process if needed.
  // Returns with `lock` held shared, as every live transaction must be.
  MDB_txn* Begin(unsigned flags, std::shared_lock<std::shared_mutex>& lock) const;
  void Grow(size_t seen_map_size);
  // The map size; the caller holds resize_mutex_.
  size_t CurrentMapSize() const;
  void OpenTables();
  unsigned Dbi(Table table) const { return dbis_[static_cast<size_t>(table)]; }
  // Throws unless `key` is one LMDB can store in `table`.
  void CheckKey(Table table, std::string_view key) const;
  [[noreturn]] void Fail(const std::string& what, int rc) const;

  std::string dir_;
  std::unique_ptr<MDB_env, EnvCloser> env_;
  std::array<unsigned, kTableCount> dbis_{};
  // LMDB may change the map size only while no transaction of this process is
  // live: every transaction holds this shared, a resize holds it exclusive.
  mutable std::shared_mutex resize_mutex_;
  // Taken briefly before resize_mutex_ by both sides, and held by a resize
  // while it waits: new transactions queue behind a pending resize instead of
  // starving it (std::shared_mutex on glibc prefers readers).
  mutable std::mutex resize_gate_;
};

}  // namespace bld::store
