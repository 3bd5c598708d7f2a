#include "builder/cache_format.h"

#include <nlohmann/json.hpp>
#include <set>

#include "builder/build_cache.h"
#include "store/error.h"

namespace bld::builder {

namespace {

using nlohmann::json;

// The version of the records document this code writes and reads.
constexpr int kRecordsVersion = 1;

}  // namespace

std::string SerializeCacheRecords(const CacheRecords& records) {
  json out = json::object();
  for (const auto& [key, state] : records) out[key] = json::parse(SerializeState(state));
  return json{{"version", kRecordsVersion}, {"records", out}}.dump();
}

CacheRecords ParseCacheRecords(std::string_view text, const std::string& what) {
  if (text.size() > kMaxCacheRecordsSize)
    throw Error(what + ": the cache records are " + std::to_string(text.size()) + " bytes, over the limit of " +
                std::to_string(kMaxCacheRecordsSize));
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("version") || !doc["version"].is_number_integer())
    throw Error(what + ": not a bld build cache (no version)");
  if (doc["version"].get<int>() != kRecordsVersion)
    throw Error(what + ": build cache version " + doc["version"].dump() + ", this bld reads version " +
                std::to_string(kRecordsVersion));
  if (!doc.contains("records") || !doc["records"].is_object()) throw Error(what + ": no records object");
  CacheRecords records;
  for (const auto& [key, value] : doc["records"].items()) {
    ImageState state;
    try {
      state = ParseState(value.dump());
    } catch (const std::exception& e) {
      throw Error(what + ": record " + key + ": " + e.what());
    }
    if (state.layers.size() != state.config.rootfs.diff_ids.size())
      throw Error(what + ": record " + key + " has " + std::to_string(state.layers.size()) + " layers but " +
                  std::to_string(state.config.rootfs.diff_ids.size()) + " diff IDs");
    records.emplace(key, std::move(state));
  }
  return records;
}

store::ImageManifest CacheManifest(const store::Descriptor& config, const CacheRecords& records) {
  store::ImageManifest manifest;
  manifest.media_type = std::string(store::media_type::kOciManifest);
  manifest.config = config;
  std::set<store::Digest> seen;
  for (const auto& [key, state] : records)
    for (const store::Descriptor& layer : state.layers)
      if (seen.insert(layer.digest).second) manifest.layers.push_back(layer);
  return manifest;
}

}  // namespace bld::builder
