#include "builder/build_cache.h"

#include <nlohmann/json.hpp>

#include "builder/layer_blobs.h"
#include "store/error.h"

namespace bld::builder {

namespace {

using nlohmann::json;

constexpr std::string_view kResultPrefix = "k:";
constexpr std::string_view kExplainPrefix = "e:";
// How many changed files --explain names before summarizing.
constexpr size_t kMaxFilesExplained = 10;

json InputsJson(const StepInputs& in) {
  return json{{"parent", in.parent}, {"instruction", in.instruction}, {"args", in.args}, {"files", in.files},
              {"base", in.base}};
}

}  // namespace

std::string SerializeState(const ImageState& state) {
  json layers = json::array();
  for (const store::Descriptor& d : state.layers) layers.push_back(json::parse(store::Serialize(d)));
  return json{{"config", json::parse(store::Serialize(state.config))}, {"layers", layers}}.dump();
}

ImageState ParseState(std::string_view text) {
  json j = json::parse(text);
  ImageState s;
  s.config = store::ParseImageConfig(j.at("config").dump(), store::Digest());
  for (const json& d : j.at("layers")) s.layers.push_back(store::ParseDescriptor(d.dump(), "cached layer"));
  return s;
}

void BuildCacheGcParticipant::AddRoots(const store::Store& store, store::GcRoots& roots) const {
  std::vector<std::string> records;
  store.meta().Read([&](const store::ReadTxn& txn) {
    txn.Scan(store::Table::kCache, kResultPrefix,
             [&](std::string_view, std::string_view value) { records.emplace_back(value); });
  });
  for (const std::string& record : records) {
    json j = json::parse(record, nullptr, false);
    if (!j.is_object() || !j.contains("layers") || !j["layers"].is_array()) continue;
    for (const json& layer : j["layers"]) {
      if (!layer.is_object() || !layer.contains("digest") || !layer["digest"].is_string()) continue;
      std::string digest = layer["digest"].get<std::string>();
      if (store::Digest::Valid(digest)) roots.blobs.insert(store::Digest::Parse(digest));
    }
  }
  roots.snapshots.merge(LazyLayerSnapshots(store));
}

std::optional<ImageState> BuildCache::Get(const std::string& key) const {
  std::optional<std::string> rec = store_.meta().Read(
      [&](store::ReadTxn& t) { return t.Get(store::Table::kCache, std::string(kResultPrefix) + key); });
  if (!rec) return std::nullopt;
  ImageState state;
  try {
    state = ParseState(*rec);
  } catch (const std::exception&) {
    return std::nullopt;  // a record this version cannot read is a miss
  }
  std::vector<store::Digest> chain;  // hashed only if a layer has no blob
  for (size_t i = 0; i < state.layers.size(); ++i) {
    if (store_.blobs().Exists(state.layers[i].digest)) continue;
    if (chain.empty()) chain = LayerChainIds(state);
    if (chain.size() != state.layers.size() || !LayerUsable(store_, state.layers[i], chain[i])) return std::nullopt;
  }
  return state;
}

std::vector<ImageState> CachedStates(const store::Store& store) {
  std::vector<ImageState> states;
  store.meta().Read([&](store::ReadTxn& t) {
    t.Scan(store::Table::kCache, kResultPrefix, [&](std::string_view, std::string_view value) {
      try {
        states.push_back(ParseState(value));
      } catch (const std::exception&) {
        // a record this version cannot read: it can never hit either
      }
    });
  });
  return states;
}

void BuildCache::Put(const std::string& key, const ImageState& state) {
  std::lock_guard lock(mu_);
  pending_.emplace_back(std::string(kResultPrefix) + key, SerializeState(state));
}

std::optional<StepInputs> BuildCache::LastInputs(const std::string& identity) const {
  std::optional<std::string> rec = store_.meta().Read(
      [&](store::ReadTxn& t) { return t.Get(store::Table::kCache, std::string(kExplainPrefix) + identity); });
  if (!rec) return std::nullopt;
  try {
    json j = json::parse(*rec);
    StepInputs in;
    in.parent = j.at("parent").get<std::string>();
    in.instruction = j.at("instruction").get<std::string>();
    in.args = j.at("args").get<std::map<std::string, std::string>>();
    in.files = j.at("files").get<std::map<std::string, std::string>>();
    in.base = j.at("base").get<std::string>();
    return in;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void BuildCache::RememberInputs(const std::string& identity, const StepInputs& inputs) {
  std::lock_guard lock(mu_);
  pending_.emplace_back(std::string(kExplainPrefix) + identity, InputsJson(inputs).dump());
}

void BuildCache::Flush() {
  std::vector<std::pair<std::string, std::string>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  // Records a rebuild finds unchanged are not written again: an LMDB commit
  // costs two fdatasyncs, more than the rest of a warm rebuild.
  store_.meta().Read([&](store::ReadTxn& t) {
    std::erase_if(batch, [&](const auto& kv) { return t.Get(store::Table::kCache, kv.first) == kv.second; });
  });
  if (batch.empty()) return;
  store_.meta().Write([&](store::WriteTxn& t) {
    for (const auto& [k, v] : batch) t.Put(store::Table::kCache, k, v);
  });
}

std::string BuildCache::Explain(const std::optional<StepInputs>& before, const StepInputs& now) {
  if (!before) return "no earlier build of this step";
  if (before->base != now.base) return "the base image changed: " + before->base + " -> " + now.base;
  if (before->instruction != now.instruction)
    return "the instruction changed: was \"" + before->instruction + "\"";
  std::vector<std::string> reasons;
  for (const auto& [k, v] : now.args) {
    auto it = before->args.find(k);
    if (it == before->args.end()) {
      reasons.push_back("build arg " + k + " is new (" + v + ")");
    } else if (it->second != v) {
      reasons.push_back("build arg " + k + " changed: \"" + it->second + "\" -> \"" + v + "\"");
    }
  }
  for (const auto& [k, v] : before->args)
    if (!now.args.count(k)) reasons.push_back("build arg " + k + " is no longer set");
  std::vector<std::string> files;
  for (const auto& [path, h] : now.files) {
    auto it = before->files.find(path);
    if (it == before->files.end()) {
      files.push_back(path + " (added)");
    } else if (it->second != h) {
      files.push_back(path + " (changed)");
    }
  }
  for (const auto& [path, h] : before->files)
    if (!now.files.count(path)) files.push_back(path + " (removed)");
  if (!files.empty()) {
    std::string list;
    for (size_t i = 0; i < files.size() && i < kMaxFilesExplained; ++i) list += (i ? ", " : "") + files[i];
    if (files.size() > kMaxFilesExplained) list += " and " + std::to_string(files.size() - kMaxFilesExplained) + " more";
    reasons.push_back("context files changed: " + list);
  }
  if (!reasons.empty()) {
    std::string out;
    for (size_t i = 0; i < reasons.size(); ++i) out += (i ? "; " : "") + reasons[i];
    return out;
  }
  if (before->parent != now.parent) return "an earlier step changed";
  return "the cache record is missing (pruned, or built with --no-cache)";
}

}  // namespace bld::builder
