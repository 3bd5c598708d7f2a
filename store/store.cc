#include "store/store.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

#include "store/error.h"
#include "store/image.h"
#include "store/lazy_layer.h"

namespace bld::store {

namespace {

// Only the owner may enter the root: see the header.
constexpr mode_t kRootMode = 0700;
// Separates the two digests of a kDiffIds key; digests never contain it.
constexpr char kDiffIdKeySeparator = '/';
// Table blobs' key of a remote layer: this prefix, then the blob's digest.
constexpr std::string_view kRemoteKeyPrefix = "remote/";

void MakeDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return;
  int err = errno;
  struct stat st;
  if (err == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
  if (err == EEXIST) throw Error("cannot create store directory " + path + ": it exists and is not a directory");
  std::string hint;
  if (err == EACCES || err == EPERM || err == EROFS)
    hint = " (run as root, or pick a store you can write with --root or $" + std::string(Store::kRootEnvVar) + ")";
  throw Error("cannot create store directory " + path + ": " + std::strerror(err) + hint);
}

std::string DiffIdKey(const Digest& diff_id, const Digest& blob) {
  return diff_id.str() + kDiffIdKeySeparator + blob.str();
}

}  // namespace

std::string Store::ResolveRoot(std::string_view root_flag) {
  std::string root(root_flag);
  if (root.empty()) {
    const char* env = std::getenv(std::string(kRootEnvVar).c_str());
    root = env && *env ? env : std::string(kDefaultRoot);
  }
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(root, ec);
  if (ec) throw Error("cannot resolve store root " + root + ": " + ec.message());
  path = path.lexically_normal();
  if (!path.has_filename() && path != path.root_path()) path = path.parent_path();
  return path.string();
}

std::unique_ptr<Store> Store::Open(const std::string& root, const Options& options) {
  if (root.empty()) throw Error("store root is empty");
  std::filesystem::path parent = std::filesystem::path(root).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw Error("cannot create " + parent.string() + " for the store root " + root + ": " + ec.message());
  MakeDirectory(root, kRootMode);
  for (const char* dir : {"snapshots", "containers", "volumes", "cache-mounts", "tmp"}) MakeDirectory(root + "/" + dir, kRootMode);
  return std::unique_ptr<Store>(new Store(root, options));
}

Store::Store(std::string root, const Options& options)
    : root_(std::move(root)), blobs_(root_), meta_(root_ + "/meta", options.meta) {}

std::vector<Descriptor> Store::Closure(const Descriptor& manifest,
                                      const std::function<void(const Descriptor&)>& check) const {
  std::vector<Descriptor> closure;
  std::set<Digest> seen;
  // Depth-first with an explicit stack: an index nesting is bounded only by
  // what a registry sent, and must not be bounded by the C++ stack.
  std::vector<Descriptor> pending{manifest};
  while (!pending.empty()) {
    Descriptor d = std::move(pending.back());
    pending.pop_back();
    if (!seen.insert(d.digest).second) continue;
    if (check) check(d);
    bool is_index = IsIndexMediaType(d.media_type);
    bool is_manifest = IsManifestMediaType(d.media_type);
    if ((is_index || is_manifest) && !blobs_.Exists(d.digest))
      throw Error(std::string(is_index ? "image index " : "image manifest ") + d.digest.str() +
                  " is not in the store at " + root_);
    // Pushed in reverse so that children come out in document order.
    std::vector<Descriptor> children;
    if (is_index) {
      children = ParseImageIndex(blobs_.ReadAll(d.digest, kMaxIndexSize), d.digest).manifests;
    } else if (is_manifest) {
      ImageManifest m = ParseImageManifest(blobs_.ReadAll(d.digest, kMaxManifestSize), d.digest);
      children.push_back(std::move(m.config));
      for (Descriptor& layer : m.layers) children.push_back(std::move(layer));
    }
    closure.push_back(std::move(d));
    for (auto it = children.rbegin(); it != children.rend(); ++it) pending.push_back(std::move(*it));
  }
  return closure;
}

void Store::PutRef(std::string_view name, const Descriptor& manifest) {
  std::string what = "cannot point " + std::string(name) + " at " + manifest.digest.str();
  if (name.empty()) throw Error("cannot write a ref with an empty name");
  if (!IsManifestMediaType(manifest.media_type) && !IsIndexMediaType(manifest.media_type))
    throw Error(what + ": media type \"" + manifest.media_type + "\" is not an image manifest or index");
  CheckComplete(manifest, what);
  std::string record = Serialize(manifest);
  WriteIfChanged(Table::kRefs, name, record);
}

void Store::CheckComplete(const Descriptor& manifest, const std::string& what) const {
  std::vector<Descriptor> closure;
  try {
    closure = Closure(manifest);
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  bool lazy = false;  // a lazy layer without its blob: checked with its manifest below
  for (const Descriptor& d : closure) {
    std::optional<uint64_t> size = blobs_.Size(d.digest);
    if (!size && IsLazyLayer(d)) {
      lazy = true;
      continue;
    }
    if (!size && RemoteBlobRecord(d.digest)) continue;  // at a registry, fetched when read
    if (!size)
      throw Error(what + ": blob " + d.digest.str() + " (" + d.media_type + ") is not in the store at " + root_);
    if (*size != static_cast<uint64_t>(d.size))
      throw Error(what + ": blob " + d.digest.str() + " is " + std::to_string(*size) + " bytes, but its descriptor says " +
                  std::to_string(d.size));
  }
  if (!lazy) return;  // an image whose blobs are all here reads no manifest again
  for (const Descriptor& d : closure) {
    if (!IsManifestMediaType(d.media_type)) continue;
    ImageManifest m = ParseImageManifest(blobs_.ReadAll(d.digest, kMaxManifestSize), d.digest);
    if (!HasLazyLayers(*this, m)) continue;
    ImageConfig config = ParseImageConfig(blobs_.ReadAll(m.config.digest, kMaxConfigSize), m.config.digest);
    if (std::optional<std::string> missing = MissingLazyLayer(*this, m, config))
      throw Error(what + ": " + *missing);
  }
}

void Store::ReplaceImage(const Descriptor& from, const Descriptor& to) {
  CheckComplete(to, "cannot point the names of " + from.digest.str() + " at " + to.digest.str());
  // Which refs point at `from`, parsed outside the write transaction; each
  // is replaced only if it still holds the record read here.
  std::map<std::string, std::string> names;
  meta_.Read([&](ReadTxn& txn) {
    txn.Scan(Table::kRefs, "", [&](std::string_view key, std::string_view value) {
      names.emplace(std::string(key), std::string(value));
    });
  });
  std::erase_if(names, [&](const auto& entry) {
    return ParseDescriptor(entry.second, "of ref " + entry.first).digest != from.digest;
  });
  if (names.empty()) return;
  std::string record = Serialize(to);
  std::string untagged_from = UntaggedRefName(from.digest), untagged_to = UntaggedRefName(to.digest);
  meta_.Write([&](WriteTxn& txn) {
    for (const auto& [name, old_record] : names) {
      if (txn.Get(Table::kRefs, name) != old_record) continue;  // changed meanwhile
      if (name == untagged_from) {
        txn.Del(Table::kRefs, name);
        txn.Put(Table::kRefs, untagged_to, record);
      } else {
        txn.Put(Table::kRefs, name, record);
      }
    }
  });
}

// A commit costs LMDB two fdatasyncs; a rebuild or re-pull that changes
// nothing should not pay them, so an unchanged record is not written again.
void Store::WriteIfChanged(Table table, std::string_view key, const std::string& value) {
  if (meta_.Read([&](ReadTxn& txn) { return txn.Get(table, key); }) == value) return;
  meta_.Write([&](WriteTxn& txn) { txn.Put(table, key, value); });
}

std::optional<Descriptor> Store::GetRef(std::string_view name) const {
  std::optional<std::string> record = meta_.Read([&](ReadTxn& txn) { return txn.Get(Table::kRefs, name); });
  if (!record) return std::nullopt;
  return ParseDescriptor(*record, "of ref " + std::string(name));
}

std::map<std::string, Descriptor> Store::ListRefs() const {
  std::map<std::string, std::string> records;
  meta_.Read([&](ReadTxn& txn) {
    txn.Scan(Table::kRefs, "", [&](std::string_view key, std::string_view value) {
      records.emplace(std::string(key), std::string(value));
    });
  });
  std::map<std::string, Descriptor> refs;
  for (const auto& [name, record] : records) refs.emplace(name, ParseDescriptor(record, "of ref " + name));
  return refs;
}

bool Store::DeleteRef(std::string_view name) {
  return meta_.Write([&](WriteTxn& txn) { return txn.Del(Table::kRefs, name); });
}

void Store::RecordBlob(const Descriptor& blob) {
  WriteIfChanged(Table::kBlobs, blob.digest.str(), Serialize(blob));
}

std::optional<Descriptor> Store::BlobRecord(const Digest& digest) const {
  std::optional<std::string> record =
      meta_.Read([&](ReadTxn& txn) { return txn.Get(Table::kBlobs, digest.str()); });
  if (!record) return std::nullopt;
  return ParseDescriptor(*record, "of blob record " + digest.str());
}

void Store::RecordDiffId(const Digest& diff_id, const Digest& blob) {
  std::string key = DiffIdKey(diff_id, blob);
  bool known = meta_.Read([&](ReadTxn& txn) {
    return txn.Get(Table::kDiffIds, key).has_value() && txn.Get(Table::kBlobDiffIds, blob.str()) == diff_id.str();
  });
  if (known) return;
  meta_.Write([&](WriteTxn& txn) {
    txn.Put(Table::kDiffIds, key, "");
    txn.Put(Table::kBlobDiffIds, blob.str(), diff_id.str());
  });
}

std::vector<Digest> Store::BlobsWithDiffId(const Digest& diff_id) const {
  std::string prefix = diff_id.str() + kDiffIdKeySeparator;
  std::vector<std::string> keys;
  meta_.Read([&](ReadTxn& txn) {
    txn.Scan(Table::kDiffIds, prefix, [&](std::string_view key, std::string_view) { keys.emplace_back(key); });
  });
  std::vector<Digest> blobs;
  for (const std::string& key : keys) blobs.push_back(Digest::Parse(std::string_view(key).substr(prefix.size())));
  return blobs;
}

void Store::RecordRemoteBlob(const Descriptor& blob, const Digest& diff_id) {
  WriteIfChanged(Table::kBlobs, std::string(kRemoteKeyPrefix) + blob.digest.str(),
                 diff_id.str() + "\n" + Serialize(blob));
}

std::optional<Store::RemoteBlob> Store::RemoteBlobRecord(const Digest& blob) const {
  std::string key = std::string(kRemoteKeyPrefix) + blob.str();
  std::optional<std::string> record = meta_.Read([&](ReadTxn& txn) { return txn.Get(Table::kBlobs, key); });
  if (!record) return std::nullopt;
  size_t newline = record->find('\n');
  std::string_view diff_id = std::string_view(*record).substr(0, newline);
  if (newline == std::string::npos || !Digest::Valid(diff_id)) throw Error("the store's record " + key + " is damaged");
  return RemoteBlob{ParseDescriptor(std::string_view(*record).substr(newline + 1), "of record " + key),
                    Digest::Parse(diff_id)};
}

std::optional<Digest> Store::DiffIdOf(const Digest& blob) const {
  std::optional<std::string> diff_id =
      meta_.Read([&](ReadTxn& txn) { return txn.Get(Table::kBlobDiffIds, blob.str()); });
  if (!diff_id) return std::nullopt;
  return Digest::Parse(*diff_id);
}

}  // namespace bld::store
