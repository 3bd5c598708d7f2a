#include "registry/remote_blobs.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "registry/blob_sources.h"
#include "registry/reference.h"
#include "store/error.h"
#include "store/layer_unpack.h"

namespace bld::registry {

namespace {

struct Wanted {
  store::Descriptor layer;
  store::Digest diff_id;
  std::vector<BlobSource> sources;
  std::optional<size_t> position;  // in the stack, when there is one
  std::string failures;            // why each source asked so far did not serve it
};

// The unpack target of a whole stack, asked for the layers of one fetch:
// layer i of the fetch is layer positions[i] of the stack.
class StackUnpack : public store::LayerUnpackTarget {
 public:
  StackUnpack(store::LayerUnpackTarget& inner, const LayerStack& stack, std::vector<size_t> positions)
      : inner_(inner), stack_(stack), positions_(std::move(positions)) {}
  std::unique_ptr<store::LayerUnpack> Begin(const std::vector<store::Digest>&, size_t index) override {
    return inner_.Begin(stack_.diff_ids, positions_.at(index));
  }

 private:
  store::LayerUnpackTarget& inner_;
  const LayerStack& stack_;
  std::vector<size_t> positions_;
};

// The layers of one repository, fetched in one go (a few at once).
void FetchFrom(store::Store& store, const BlobSource& source, std::vector<Wanted*>& group, PullOptions options,
               const LayerStack* stack) {
  std::vector<store::Descriptor> layers;
  std::vector<store::Digest> diff_ids;
  std::vector<size_t> positions;
  for (const Wanted* w : group) {
    layers.push_back(w->layer);
    diff_ids.push_back(w->diff_id);
    if (w->position) positions.push_back(*w->position);
  }
  std::optional<StackUnpack> unpack;
  if (options.unpack && stack && positions.size() == group.size()) unpack.emplace(*options.unpack, *stack, positions);
  options.unpack = unpack ? &*unpack : nullptr;
  try {
    RepositoryReader reader(store, Reference::ParseDockerRef(source.registry + "/" + source.repository), options);
    reader.FetchLayers(layers, diff_ids);
  } catch (const std::exception& e) {
    // Some may have arrived before the failure; the others try their next.
    for (Wanted* w : group)
      if (!store.blobs().Exists(w->layer.digest))
        w->failures += "\n  " + source.registry + "/" + source.repository + ": " + e.what();
  }
}

}  // namespace

void FetchRemoteLayers(store::Store& store, const std::vector<store::Digest>& blobs, const PullOptions& options,
                       const LayerStack* stack) {
  std::vector<Wanted> wanted;
  for (const store::Digest& blob : blobs) {
    if (store.blobs().Exists(blob)) continue;
    if (std::any_of(wanted.begin(), wanted.end(), [&](const Wanted& w) { return w.layer.digest == blob; })) continue;
    std::optional<store::Store::RemoteBlob> remote = store.RemoteBlobRecord(blob);
    if (!remote) continue;
    std::optional<size_t> position;
    if (stack)
      if (auto it = std::find(stack->blobs.begin(), stack->blobs.end(), blob); it != stack->blobs.end())
        position = static_cast<size_t>(it - stack->blobs.begin());
    wanted.push_back({remote->blob, remote->diff_id, BlobSources(store, blob), position, ""});
  }
  // Round by round: each missing layer asks its next source, layers of the
  // same source together.
  for (size_t round = 0;; ++round) {
    std::map<std::pair<std::string, std::string>, std::vector<Wanted*>> groups;
    for (Wanted& w : wanted)
      if (round < w.sources.size() && !store.blobs().Exists(w.layer.digest))
        groups[{w.sources[round].registry, w.sources[round].repository}].push_back(&w);
    if (groups.empty()) break;
    for (auto& [where, group] : groups) FetchFrom(store, {where.first, where.second}, group, options, stack);
  }
  for (const Wanted& w : wanted) {
    if (store.blobs().Exists(w.layer.digest)) continue;
    if (w.sources.empty())
      throw Error("layer " + w.layer.digest.str() + " is not in the store and no registry is recorded as having it");
    throw Error("cannot fetch the layer " + w.layer.digest.str() + " (left in the registry by the build that made the " +
                "image):" + w.failures);
  }
}

}  // namespace bld::registry
