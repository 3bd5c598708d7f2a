#include "builder/cache_export.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "builder/lazy_images.h"
#include "registry/pusher.h"
#include "registry/reference.h"
#include "store/error.h"

namespace bld::builder {

namespace {

namespace fs = std::filesystem;

// What index.json calls the cache, as BuildKit's local cache does.
constexpr std::string_view kLayoutTag = "latest";
constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
constexpr std::string_view kLayoutVersion = R"({"imageLayoutVersion":"1.0.0"})";

// Whether `state`'s layers, diff IDs and history begin `image`'s.
bool IsPrefixOf(const ImageState& state, const ImageState& image) {
  const auto& h = state.config.history;
  const auto& d = state.config.rootfs.diff_ids;
  return h.size() <= image.config.history.size() && d.size() <= image.config.rootfs.diff_ids.size() &&
         std::equal(h.begin(), h.end(), image.config.history.begin()) &&
         std::equal(d.begin(), d.end(), image.config.rootfs.diff_ids.begin());
}

// The layers of `state`, each a blob in the store, or (for an imported hit)
// in the repository `keep_repository` the export goes to.
std::vector<store::Descriptor> LayerBlobsOf(const CacheExportEnv& env, const ImageState& state,
                                            const std::string& keep_repository) {
  auto kept = [&](const store::Descriptor& layer) {
    return !keep_repository.empty() && env.imported && env.imported->RepositoryOf(layer.digest) == keep_repository;
  };
  bool all_there = true;
  for (const store::Descriptor& layer : state.layers)
    all_there = all_there && (env.store.blobs().Exists(layer.digest) || kept(layer));
  if (all_there) return state.layers;
  // A layer made by this build (or lost): the imported ones under it are
  // fetched so that the layer writer finds every layer in the store.
  if (env.imported) env.imported->EnsureBlobs(state);
  return env.blobs.Materialize(state);
}

// `records` with every layer named by a blob.
CacheRecords WithLayerBlobs(const CacheExportEnv& env, const CacheRecords& records,
                            const std::string& keep_repository) {
  CacheRecords out;
  for (const auto& [key, state] : records) {
    ImageState exported = state;
    exported.layers = LayerBlobsOf(env, state, keep_repository);
    out.emplace(key, std::move(exported));
  }
  return out;
}

// The records document and the manifest listing it, both put in the store.
store::Descriptor StoreCacheManifest(store::Store& store, const CacheRecords& records) {
  std::string document = SerializeCacheRecords(records);
  store::BlobInfo config = store.blobs().Put(document);
  store::Descriptor config_desc{std::string(kCacheConfigMediaType), config.digest, static_cast<int64_t>(config.size),
                                {}, {}, std::nullopt};
  std::string manifest = store::Serialize(CacheManifest(config_desc, records));
  store::BlobInfo info = store.blobs().Put(manifest);
  return {std::string(store::media_type::kOciManifest), info.digest, static_cast<int64_t>(info.size), {}, {},
          std::nullopt};
}

// Writes `data` to `path` through a temporary file in the same directory.
void WriteFileAtomically(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) throw SysError("cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw SysError("cannot rename " + tmp + " to " + path);
}

// Copies a store blob into the layout unless a blob of that digest is there.
void CopyBlob(const store::Store& store, const std::string& blob_dir, const store::Digest& digest) {
  std::string dest = blob_dir + "/" + std::string(digest.hex());
  if (fs::exists(dest)) return;
  std::string tmp = dest + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::copy_file(store.blobs().Path(digest), tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error("cannot copy the blob " + digest.str() + " to " + blob_dir + ": " + ec.message());
  if (::rename(tmp.c_str(), dest.c_str()) != 0) throw SysError("cannot rename " + tmp + " to " + dest);
}

// The index.json a layout has already, as BuildKit's local cache keeps it:
// other entries stay. One that cannot be read is replaced.
store::ImageIndex ExistingIndex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return store::ParseImageIndex(text, store::Digest());
  } catch (const Error&) {
    return {};
  }
}

// An OCI layout in `dir`, kept from one export to the next: blobs it has are
// not copied again, other entries of its index.json stay, and index.json is
// replaced last, in one rename.
void WriteLayout(const store::Store& store, const std::string& dir, const store::Descriptor& manifest) {
  std::string blob_dir = dir + "/blobs/sha256";
  std::error_code ec;
  fs::create_directories(blob_dir, ec);
  if (ec) throw Error("cannot create " + blob_dir + ": " + ec.message());
  for (const store::Descriptor& d : store.Closure(manifest)) CopyBlob(store, blob_dir, d.digest);
  WriteFileAtomically(dir + "/oci-layout", kLayoutVersion);
  store::ImageIndex index = ExistingIndex(dir + "/index.json");
  index.media_type = std::string(store::media_type::kOciIndex);
  std::erase_if(index.manifests, [](const store::Descriptor& d) {
    auto name = d.annotations.find(std::string(kRefNameAnnotation));
    return name != d.annotations.end() && name->second == kLayoutTag;
  });
  store::Descriptor named = manifest;
  named.annotations[std::string(kRefNameAnnotation)] = std::string(kLayoutTag);
  index.manifests.push_back(named);
  WriteFileAtomically(dir + "/index.json", store::Serialize(index));
}

}  // namespace

std::optional<ImageState> CacheRecorder::Get(const std::string& key) const {
  std::optional<ImageState> hit = inner_.Get(key);
  if (hit) {
    std::lock_guard lock(mu_);
    taken_.insert_or_assign(key, *hit);
  }
  return hit;
}

void CacheRecorder::Put(const std::string& key, const ImageState& state) {
  {
    std::lock_guard lock(mu_);
    taken_.insert_or_assign(key, state);
  }
  inner_.Put(key, state);
}

CacheRecords CacheRecorder::Taken() const {
  std::lock_guard lock(mu_);
  return taken_;
}

CacheRecords SelectRecords(const CacheRecords& all, const std::vector<ImageState>& images, CacheMode mode) {
  if (mode == CacheMode::kMax) return all;
  CacheRecords out;
  for (const auto& [key, state] : all)
    for (const ImageState& image : images)
      if (IsPrefixOf(state, image)) out.emplace(key, state);
  return out;
}

std::string InlineCacheRecords(const CacheRecords& all, const ImageState& image,
                               const std::vector<store::Descriptor>& written_layers) {
  CacheRecords records = SelectRecords(all, {image}, CacheMode::kMin);
  for (auto& [key, state] : records)
    state.layers.assign(written_layers.begin(), written_layers.begin() + static_cast<std::ptrdiff_t>(state.layers.size()));
  return SerializeCacheRecords(records);
}

void ExportCache(const CacheExportEnv& env, const CacheSpec& spec, const CacheRecords& records) {
  try {
    if (spec.type == CacheType::kLocal) {
      store::Descriptor manifest = StoreCacheManifest(env.store, WithLayerBlobs(env, records, ""));
      // A directory holds every blob: those a push-only build left at the
      // registry (lazy_images.h) come first.
      FetchRemoteLayers(env.store, env.store.Closure(manifest), env.registry);
      WriteLayout(env.store, spec.dir, manifest);
      return;
    }
    registry::Reference ref = registry::Reference::ParseDockerRef(spec.ref);
    std::string repository = ref.domain() + "/" + ref.path();
    store::Descriptor manifest = StoreCacheManifest(env.store, WithLayerBlobs(env, records, repository));
    registry::PushOptions options;
    options.registry = env.registry;
    registry::PushManifest(env.store, ref, manifest, options);
  } catch (const Error& e) {
    throw Error("--cache-to " + spec.spec + ": " + e.what());
  }
}

}  // namespace bld::builder
