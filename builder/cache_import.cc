#include "builder/cache_import.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "builder/layer_blobs.h"
#include "registry/diff_id_hasher.h"
#include "registry/puller.h"
#include "registry/reference.h"
#include "runner/snapshotter.h"
#include "store/error.h"
#include "store/image.h"
#include "store/unique_fd.h"

namespace bld::builder {

namespace {

// The config media type of BuildKit's registry cache, named in the warning
// that it is not read (docs/cache-export.md).
constexpr std::string_view kBuildKitCacheConfig = "application/vnd.buildkit.cacheconfig.v0";
// Layers are copied out of a layout directory in pieces of this size.
constexpr size_t kCopyBuffer = 1 << 20;

std::string BlobPath(const std::string& dir, const store::Digest& digest) {
  return dir + "/blobs/sha256/" + std::string(digest.hex());
}

store::UniqueFd OpenFile(const std::string& path) {
  store::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw SysError("cannot open " + path);
  return fd;
}

// A file read whole, refused beyond `max_size` bytes.
std::string ReadSmallFile(const std::string& path, size_t max_size) {
  store::UniqueFd fd = OpenFile(path);
  std::string out;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) throw SysError("cannot read " + path);
    if (n == 0) return out;
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > max_size) throw Error(path + " is over the limit of " + std::to_string(max_size) + " bytes");
  }
}

// An OCI layout directory written by `--cache-to type=local`.
class LayoutCacheSource : public CacheSource {
 public:
  LayoutCacheSource(store::Store& store, std::string dir) : store_(store), dir_(std::move(dir)) {
    store::ImageIndex index = store::ParseImageIndex(ReadSmallFile(dir_ + "/index.json", store::kMaxIndexSize),
                                                     store::Digest());
    for (const store::Descriptor& d : index.manifests) {
      if (!store::IsManifestMediaType(d.media_type)) continue;
      store::ImageManifest manifest = store::ParseImageManifest(Blob(d, store::kMaxManifestSize), d.digest);
      if (manifest.config.media_type != kCacheConfigMediaType) continue;
      records_ = ParseCacheRecords(Blob(manifest.config, kMaxCacheRecordsSize), Name());
      return;
    }
    throw Error(Name() + ": its index.json names no bld build cache");
  }

  std::string Name() const override { return "directory " + dir_; }

  void FetchLayers(const std::vector<store::Descriptor>& layers, const std::vector<store::Digest>& diff_ids) override {
    for (size_t i = 0; i < layers.size(); ++i) Copy(layers[i], diff_ids[i]);
  }

 private:
  // A small blob of the layout, checked against its digest.
  std::string Blob(const store::Descriptor& d, size_t max_size) const {
    std::string data = ReadSmallFile(BlobPath(dir_, d.digest), max_size);
    if (store::Sha256::Of(data) != d.digest) throw Error(Name() + ": the blob " + d.digest.str() + " is damaged");
    return data;
  }

  // A layer into the store: its digest checked by the writer, its diff ID
  // by decompressing it on the way, as a pull checks them.
  void Copy(const store::Descriptor& layer, const store::Digest& diff_id) {
    std::string what = Name() + ": layer " + layer.digest.str();
    store::UniqueFd fd = OpenFile(BlobPath(dir_, layer.digest));
    store::BlobWriter writer = store_.blobs().NewWriter();
    registry::DiffIdHasher hasher;
    std::vector<char> buffer(kCopyBuffer);
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0) throw SysError("cannot read " + what);
      if (n == 0) break;
      writer.Write(buffer.data(), static_cast<size_t>(n));
      hasher.Write(buffer.data(), static_cast<size_t>(n));
    }
    store::Digest actual = hasher.Finish();
    if (actual != diff_id)
      throw Error(what + " decompresses to " + actual.str() + ", but its record lists the diff ID " + diff_id.str());
    writer.Commit(layer.digest);
    store_.RecordBlob(layer);
    store_.RecordDiffId(diff_id, layer.digest);
  }

  store::Store& store_;
  std::string dir_;
};

// A registry cache (a manifest whose config is the records), or an image
// whose config carries the records in its inline cache label.
class RegistryCacheSource : public CacheSource {
 public:
  RegistryCacheSource(store::Store& store, const registry::Reference& ref, const registry::RegistryOptions& options,
                      const store::Platform& platform)
      : reader_(store, ref, {options, platform, 3, nullptr}) {
    registry::RepositoryReader::Manifest top = reader_.FetchManifest();
    if (top.body.find(kBuildKitCacheConfig) != std::string::npos)
      throw Error(Name() + " is a BuildKit cache (" + std::string(kBuildKitCacheConfig) +
                  "), which bld does not read: export the cache with bld build --cache-to");
    if (store::IsIndexMediaType(top.media_type))
      throw Error(Name() + " is an image index: give the reference of one image or of a bld cache");
    if (!store::IsManifestMediaType(top.media_type))
      throw Error(Name() + " is a " + top.media_type + ", not a bld build cache nor an image");
    store::ImageManifest manifest = store::ParseImageManifest(top.body, top.digest);
    if (manifest.config.media_type == kCacheConfigMediaType) {
      records_ = ParseCacheRecords(reader_.FetchBlob(manifest.config, kMaxCacheRecordsSize, "build cache records"),
                                   Name());
      return;
    }
    store::ImageConfig config = store::ParseImageConfig(
        reader_.FetchBlob(manifest.config, store::kMaxConfigSize, "image config"), manifest.config.digest);
    auto label = config.config.labels.find(std::string(kInlineCacheLabel));
    if (label == config.config.labels.end())
      throw Error(Name() + " is an image without inline cache metadata (build it with --cache-to type=inline)");
    records_ = ParseCacheRecords(label->second, Name() + " (inline cache)");
  }

  std::string Name() const override { return "registry cache " + reader_.Source(); }
  std::string Repository() const override { return reader_.Source(); }
  std::optional<registry::BlobSource> Location() const override { return reader_.Location(); }

  void FetchLayers(const std::vector<store::Descriptor>& layers, const std::vector<store::Digest>& diff_ids) override {
    reader_.FetchLayers(layers, diff_ids);
  }

 private:
  registry::RepositoryReader reader_;
};

// A blob in the store that holds the layer `diff_id`.
std::optional<store::Digest> StoredBlobOf(const store::Store& store, const store::Digest& diff_id) {
  for (const store::Digest& blob : store.BlobsWithDiffId(diff_id))
    if (store.blobs().Exists(blob)) return blob;
  return std::nullopt;
}

}  // namespace

std::unique_ptr<CacheSource> OpenCacheSource(store::Store& store, const CacheSpec& spec,
                                             const registry::RegistryOptions& registry,
                                             const store::Platform& platform) {
  if (spec.type == CacheType::kLocal) return std::make_unique<LayoutCacheSource>(store, spec.dir);
  if (spec.type != CacheType::kRegistry) throw Error("--cache-from " + spec.spec + ": not a cache bld can import");
  return std::make_unique<RegistryCacheSource>(store, registry::Reference::ParseDockerRef(spec.ref), registry,
                                               platform);
}

std::optional<ImageState> ImportedCache::Get(const std::string& key) const {
  if (std::optional<ImageState> hit = local_.Get(key)) return hit;
  for (size_t i = 0; i < sources_.size(); ++i) {
    auto it = sources_[i]->records().find(key);
    if (it == sources_[i]->records().end()) continue;
    {
      std::lock_guard lock(mu_);
      for (const store::Descriptor& layer : it->second.layers) origin_.emplace(layer.digest, Origin{i, layer});
    }
    // Recorded locally too: a hit there once its layers are in the store
    // (the local cache trusts a record only then), so that the next build
    // on this machine needs no import for it.
    local_.Put(key, it->second);
    return it->second;
  }
  return std::nullopt;
}

std::string ImportedCache::RepositoryOf(const store::Digest& blob) const {
  std::lock_guard lock(mu_);
  auto it = origin_.find(blob);
  return it == origin_.end() ? "" : sources_[it->second.source]->Repository();
}

void ImportedCache::Fetch(const std::vector<std::pair<store::Digest, store::Digest>>& layers) {
  // Grouped by import, so that each source fetches its layers at once (a
  // registry, a few in parallel).
  std::map<size_t, std::pair<std::vector<store::Descriptor>, std::vector<store::Digest>>> wanted;
  {
    std::lock_guard lock(mu_);
    for (const auto& [blob, diff_id] : layers) {
      auto it = origin_.find(blob);
      if (it == origin_.end()) continue;
      wanted[it->second.source].first.push_back(it->second.layer);
      wanted[it->second.source].second.push_back(diff_id);
    }
  }
  std::lock_guard lock(fetch_mu_);
  for (auto& [source, group] : wanted) {
    // Another stage may have fetched some while this one waited.
    std::vector<store::Descriptor> missing;
    std::vector<store::Digest> diff_ids;
    for (size_t i = 0; i < group.first.size(); ++i) {
      if (store_.blobs().Exists(group.first[i].digest) || StoredBlobOf(store_, group.second[i])) continue;
      missing.push_back(group.first[i]);
      diff_ids.push_back(group.second[i]);
    }
    if (!missing.empty()) FetchShown(*sources_[source], missing, diff_ids);
  }
}

void ImportedCache::FetchShown(CacheSource& source, const std::vector<store::Descriptor>& layers,
                               const std::vector<store::Digest>& diff_ids) {
  if (!events_) return source.FetchLayers(layers, diff_ids);
  int64_t bytes = 0;
  for (const store::Descriptor& layer : layers) bytes += layer.size;
  StepProgress progress = events_->StartStep("fetching " + std::to_string(layers.size()) +
                                                 (layers.size() == 1 ? " layer (" : " layers (") +
                                                 std::to_string(bytes) + " bytes) from " + source.Name(),
                                             -1);
  try {
    source.FetchLayers(layers, diff_ids);
  } catch (const std::exception& e) {
    progress.Error(e.what());
    throw;
  }
  progress.Done();
}

std::vector<runner::LayerRef> ImportedCache::EnsureLayers(std::vector<runner::LayerRef> layers) {
  std::vector<store::Digest> diff_ids;
  for (const runner::LayerRef& layer : layers) diff_ids.push_back(layer.diff_id);
  std::vector<store::Digest> chain = runner::Snapshotter::ChainIds(diff_ids);
  std::vector<std::pair<store::Digest, store::Digest>> wanted;
  for (size_t i = 0; i < layers.size(); ++i)
    if (!store_.blobs().Exists(layers[i].blob) && !runner::Snapshotter::Exists(store_, chain[i]))
      wanted.emplace_back(layers[i].blob, layers[i].diff_id);
  if (wanted.empty()) return layers;
  Fetch(wanted);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (store_.blobs().Exists(layers[i].blob) || runner::Snapshotter::Exists(store_, chain[i])) continue;
    // The layer as the store has it under another digest (compressed
    // another way): the runner unpacks that one.
    if (std::optional<store::Digest> stored = StoredBlobOf(store_, layers[i].diff_id)) layers[i].blob = *stored;
  }
  return layers;
}

void ImportedCache::EnsureBlobs(const ImageState& state, const std::vector<std::string>& leave_at) {
  std::vector<std::pair<store::Digest, store::Digest>> wanted;
  std::vector<store::Digest> chain = LayerChainIds(state);
  for (size_t i = 0; i < state.layers.size() && i < chain.size(); ++i) {
    const store::Digest& diff_id = state.config.rootfs.diff_ids[i];
    if (!store_.blobs().Exists(state.layers[i].digest) && !StoredBlobOf(store_, diff_id) &&
        !runner::Snapshotter::Holding(store_, chain[i], diff_id) &&
        !LeaveRemote(state.layers[i].digest, diff_id, leave_at))
      wanted.emplace_back(state.layers[i].digest, diff_id);
  }
  Fetch(wanted);
}

bool ImportedCache::LeaveRemote(const store::Digest& blob, const store::Digest& diff_id,
                                const std::vector<std::string>& leave_at) {
  if (leave_at.empty()) return false;
  std::optional<registry::BlobSource> at;
  store::Descriptor layer;
  {
    std::lock_guard lock(mu_);
    auto it = origin_.find(blob);
    if (it == origin_.end()) return false;
    at = sources_[it->second.source]->Location();
    layer = it->second.layer;
  }
  if (!at || std::find(leave_at.begin(), leave_at.end(), at->registry) == leave_at.end()) return false;
  // Where it is first: a remote record always has a source to fetch from.
  registry::RecordBlobSources(store_, {blob}, *at);
  store_.RecordRemoteBlob(layer, diff_id);
  return true;
}

runner::StepResult CacheFetchingRuntime::Run(const runner::StepSpec& spec,
                                             const runner::OutputLines::LineCallback& on_line) {
  runner::StepSpec ready = spec;
  ready.layers = cache_.EnsureLayers(spec.layers);
  for (runner::StepMount& mount : ready.mounts)
    if (mount.tree) mount.tree->layers = cache_.EnsureLayers(mount.tree->layers);
  return inner_.Run(ready, on_line);
}

std::optional<store::LayerInfo> CacheFetchingRuntime::ApplyFiles(const std::vector<runner::LayerRef>& layers,
                                                                 const runner::FilePlan& plan,
                                                                 const store::LayerWriteOptions& options) {
  runner::FilePlan ready = plan;
  ready.source_layers = cache_.EnsureLayers(plan.source_layers);
  return inner_.ApplyFiles(cache_.EnsureLayers(layers), ready, options);
}

}  // namespace bld::builder
