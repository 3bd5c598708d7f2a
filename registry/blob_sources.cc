#include "registry/blob_sources.h"

#include <string_view>

namespace bld::registry {

namespace {

constexpr std::string_view kKeyPrefix = "source/";

std::string KeyPrefix(const store::Digest& digest) { return std::string(kKeyPrefix) + digest.str() + "/"; }

}  // namespace

void RecordBlobSources(store::Store& store, const std::vector<store::Digest>& digests, const BlobSource& source) {
  std::vector<std::string> keys;
  size_t max_key = store.meta().max_key_size();
  for (const store::Digest& d : digests) {
    std::string key = KeyPrefix(d) + source.registry + "/" + source.repository;
    // A name too long for an LMDB key only costs a mount later.
    if (key.size() <= max_key) keys.push_back(std::move(key));
  }
  if (keys.empty()) return;
  store.meta().Write([&](store::WriteTxn& txn) {
    for (const std::string& key : keys) txn.Put(store::Table::kBlobs, key, "");
  });
}

std::vector<BlobSource> BlobSources(const store::Store& store, const store::Digest& digest) {
  std::string prefix = KeyPrefix(digest);
  std::vector<BlobSource> sources;
  store.meta().Read([&](const store::ReadTxn& txn) {
    txn.Scan(store::Table::kBlobs, prefix, [&](std::string_view key, std::string_view) {
      std::string_view rest = key.substr(prefix.size());
      size_t slash = rest.find('/');
      if (slash == std::string_view::npos) return;
      sources.push_back({std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))});
    });
  });
  return sources;
}

}  // namespace bld::registry
