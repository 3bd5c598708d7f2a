#include "store/meta_store.h"

#include <lmdb.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "store/error.h"

namespace bld::store {

namespace {

constexpr std::array<std::string_view, kTableCount> kTableNames = {
    "refs", "blobs", "diffids", "blob_diffids", "cache", "snapshots", "containers", "volumes", "statcache",
};
// The schema version lives in a table of its own so that no table of data
// has a reserved key.
constexpr const char* kSchemaTable = "schema";
constexpr std::string_view kSchemaVersionKey = "version";
// The data tables plus the schema table.
constexpr unsigned kMaxDbs = kTableCount + 1;
// Store metadata is for the store's owner only, as the store root is.
constexpr mdb_mode_t kFileMode = 0600;
// MDB_NOTLS: read transactions are not tied to a thread's slot, so a thread
// pool can run them on any thread (and one thread may hold several).
constexpr unsigned kEnvFlags = MDB_NOTLS;

// Thrown by Put and Del when the map is full, caught by RunWrite, which grows
// the map and runs the write function again.
struct MapFull {};

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// Aborts the transaction unless it was committed.
class Txn {
 public:
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  MDB_txn* get() const { return txn_; }
  // LMDB frees the transaction whether the commit succeeds or not.
  int Commit() { return mdb_txn_commit(std::exchange(txn_, nullptr)); }

 private:
  MDB_txn* txn_;
};

class Cursor {
 public:
  explicit Cursor(MDB_cursor* cursor) : cursor_(cursor) {}
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor() { mdb_cursor_close(cursor_); }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_;
};

void CreateDirectories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw Error("cannot create directory " + path + ": " + ec.message());
}

}  // namespace

std::string_view TableName(Table table) { return kTableNames[static_cast<size_t>(table)]; }

// --- ReadTxn / WriteTxn ---

std::optional<std::string> ReadTxn::Get(Table table, std::string_view key) const {
  meta_.CheckKey(table, key);
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn_, meta_.Dbi(table), &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != MDB_SUCCESS) meta_.Fail("cannot read from table " + std::string(TableName(table)), rc);
  return std::string(View(v));
}

void ReadTxn::Scan(Table table, std::string_view prefix,
                   const std::function<void(std::string_view key, std::string_view value)>& fn) const {
  std::string what = "cannot scan table " + std::string(TableName(table));
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(txn_, meta_.Dbi(table), &raw);
  if (rc != MDB_SUCCESS) meta_.Fail(what, rc);
  Cursor cursor(raw);
  MDB_val k{}, v{};
  if (prefix.empty()) {
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
  } else {
    meta_.CheckKey(table, prefix);
    k = Val(prefix);
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  }
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    std::string_view key = View(k);
    if (!key.starts_with(prefix)) return;
    fn(key, View(v));
  }
  if (rc != MDB_NOTFOUND) meta_.Fail(what, rc);
}

void WriteTxn::Put(Table table, std::string_view key, std::string_view value) {
  meta_.CheckKey(table, key);
  MDB_val k = Val(key), v = Val(value);
  int rc = mdb_put(txn_, meta_.Dbi(table), &k, &v, 0);
  if (rc == MDB_MAP_FULL) {
    map_full_ = true;
    throw MapFull{};
  }
  if (rc != MDB_SUCCESS) meta_.Fail("cannot write to table " + std::string(TableName(table)), rc);
}

bool WriteTxn::Del(Table table, std::string_view key) {
  meta_.CheckKey(table, key);
  MDB_val k = Val(key);
  int rc = mdb_del(txn_, meta_.Dbi(table), &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  // Copy-on-write: even a delete needs free pages.
  if (rc == MDB_MAP_FULL) {
    map_full_ = true;
    throw MapFull{};
  }
  if (rc != MDB_SUCCESS) meta_.Fail("cannot delete from table " + std::string(TableName(table)), rc);
  return true;
}

// --- MetaStore ---

void MetaStore::EnvCloser::operator()(MDB_env* env) const { mdb_env_close(env); }

MetaStore::MetaStore(std::string dir, const Options& options) : dir_(std::move(dir)) {
  CreateDirectories(dir_);
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != MDB_SUCCESS) Fail("cannot create an LMDB environment", rc);
  env_.reset(env);
  if ((rc = mdb_env_set_maxdbs(env, kMaxDbs)) != MDB_SUCCESS) Fail("cannot set the number of tables", rc);
  if ((rc = mdb_env_set_mapsize(env, options.map_size)) != MDB_SUCCESS)
    Fail("cannot set the map size to " + std::to_string(options.map_size) + " bytes", rc);
  if ((rc = mdb_env_open(env, dir_.c_str(), kEnvFlags, kFileMode)) != MDB_SUCCESS) Fail("cannot open", rc);
  // A bld killed while reading leaves its reader slot behind, which would
  // keep LMDB from reusing the pages that reader could see.
  int stale = 0;
  if ((rc = mdb_reader_check(env, &stale)) != MDB_SUCCESS) Fail("cannot clear stale readers", rc);
  OpenTables();
}

MetaStore::~MetaStore() = default;

void MetaStore::Fail(const std::string& what, int rc) const {
  throw Error("store metadata " + dir_ + ": " + what + ": " + mdb_strerror(rc));
}

void MetaStore::CheckKey(Table table, std::string_view key) const {
  if (key.empty()) throw Error("store metadata " + dir_ + ": empty key in table " + std::string(TableName(table)));
  if (key.size() > max_key_size())
    throw Error("store metadata " + dir_ + ": a key of " + std::to_string(key.size()) + " bytes in table " +
                std::string(TableName(table)) + " is longer than LMDB's limit of " +
                std::to_string(max_key_size()) + " bytes");
}

size_t MetaStore::max_key_size() const { return static_cast<size_t>(mdb_env_get_maxkeysize(env_.get())); }

size_t MetaStore::CurrentMapSize() const {
  MDB_envinfo info;
  int rc = mdb_env_info(env_.get(), &info);
  if (rc != MDB_SUCCESS) Fail("cannot read the environment info", rc);
  return info.me_mapsize;
}

size_t MetaStore::map_size() const {
  std::shared_lock lock(resize_mutex_);
  return CurrentMapSize();
}

// Opens (creating them if needed) every table, after checking the schema
// version, in one write transaction: two processes creating a store at once
// serialize on LMDB's write lock and the second finds the first's tables.
void MetaStore::OpenTables() {
  RunWrite([&](WriteTxn& txn) {
    MDB_dbi schema;
    int rc = mdb_dbi_open(txn.txn_, kSchemaTable, MDB_CREATE, &schema);
    if (rc != MDB_SUCCESS) Fail("cannot open table schema", rc);
    MDB_val key = Val(kSchemaVersionKey), value;
    rc = mdb_get(txn.txn_, schema, &key, &value);
    std::string ours = std::to_string(kSchemaVersion);
    if (rc == MDB_NOTFOUND) {
      MDB_val version = Val(ours);
      rc = mdb_put(txn.txn_, schema, &key, &version, 0);
      if (rc == MDB_MAP_FULL) {
        txn.map_full_ = true;
        return;
      }
      if (rc != MDB_SUCCESS) Fail("cannot write the schema version", rc);
    } else if (rc != MDB_SUCCESS) {
      Fail("cannot read the schema version", rc);
    } else if (std::string theirs(View(value)); theirs != ours) {
      bool newer = std::strtoull(theirs.c_str(), nullptr, 10) > kSchemaVersion;
      throw Error("store metadata " + dir_ + " has schema version " + theirs + ", but this bld uses version " +
                  ours + (newer ? ": it was written by a newer bld; upgrade bld or use another --root"
                                : ": it was written by an older bld that this one cannot read; remove the "
                                  "store or use another --root"));
    }
    for (size_t i = 0; i < kTableCount; ++i) {
      rc = mdb_dbi_open(txn.txn_, kTableNames[i].data(), MDB_CREATE, &dbis_[i]);
      if (rc == MDB_MAP_FULL) {
        txn.map_full_ = true;
        return;
      }
      if (rc != MDB_SUCCESS) Fail("cannot open table " + std::string(kTableNames[i]), rc);
    }
  });
}

MDB_txn* MetaStore::Begin(unsigned flags, std::shared_lock<std::shared_mutex>& lock) const {
  for (;;) {
    {
      std::lock_guard gate(resize_gate_);
      lock = std::shared_lock(resize_mutex_);
    }
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_.get(), nullptr, flags, &txn);
    if (rc == MDB_SUCCESS) return txn;
    if (rc != MDB_MAP_RESIZED) Fail("cannot begin a transaction", rc);
    // Another process grew the map past ours: adopt its size (0 means "the
    // size recorded in the environment"), which needs no live transaction.
    lock.unlock();
    std::lock_guard gate(resize_gate_);
    std::unique_lock exclusive(resize_mutex_);
    if ((rc = mdb_env_set_mapsize(env_.get(), 0)) != MDB_SUCCESS)
      Fail("cannot adopt the map size another process set", rc);
  }
}

void MetaStore::Grow(size_t seen_map_size) {
  std::lock_guard gate(resize_gate_);
  std::unique_lock lock(resize_mutex_);
  // Another thread that hit the same full map may have grown it already.
  if (CurrentMapSize() > seen_map_size) return;
  size_t grown = seen_map_size * 2;
  int rc = mdb_env_set_mapsize(env_.get(), grown);
  if (rc != MDB_SUCCESS) Fail("cannot grow the map to " + std::to_string(grown) + " bytes", rc);
}

std::optional<std::string> MetaStore::Get(Table table, std::string_view key) const {
  return Read([&](ReadTxn& txn) { return txn.Get(table, key); });
}

std::vector<std::pair<std::string, std::string>> MetaStore::List(Table table, std::string_view prefix) const {
  std::vector<std::pair<std::string, std::string>> records;
  Read([&](ReadTxn& txn) {
    txn.Scan(table, prefix,
             [&](std::string_view key, std::string_view value) { records.emplace_back(key, value); });
  });
  return records;
}

void MetaStore::RunRead(const std::function<void(ReadTxn&)>& fn) const {
  std::shared_lock<std::shared_mutex> lock;
  Txn txn(Begin(MDB_RDONLY, lock));
  ReadTxn read(*this, txn.get());
  fn(read);
}

void MetaStore::RunWrite(const std::function<void(WriteTxn&)>& fn) {
  for (;;) {
    size_t seen_map_size;
    {
      std::shared_lock<std::shared_mutex> lock;
      Txn txn(Begin(0, lock));
      seen_map_size = CurrentMapSize();
      WriteTxn write(*this, txn.get());
      try {
        fn(write);
      } catch (const MapFull&) {
        // write.map_full_ is set; handled below with a swallowed MapFull.
      }
      if (!write.map_full_) {
        int rc = txn.Commit();
        if (rc == MDB_SUCCESS) return;
        if (rc != MDB_MAP_FULL) Fail("cannot commit a write transaction", rc);
      }
    }  // the transaction is aborted and the lock released before growing
    Grow(seen_map_size);
  }
}

}  // namespace bld::store
