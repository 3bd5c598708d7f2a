#include "registry/puller.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "registry/blob_sources.h"
#include "registry/diff_id_hasher.h"
#include "registry/parallel.h"
#include "registry/repository_transfer.h"
#include "store/compression.h"
#include "store/error.h"

namespace bld::registry {

const char* const kManifestAcceptHeader =
    "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

namespace {

using store::Descriptor;
using store::Digest;

// Times one layer download is resumed after its connection dropped midway,
// beyond the retries of requests that received nothing.
constexpr int kMaxResumes = 5;
// Reading a stored layer to learn its diffID.
constexpr size_t kReadBufferSize = 256 * 1024;
// Downloaded bytes are written and hashed in batches of this size.
constexpr size_t kWriteBatch = 1 << 20;

// A blob that came wrong: short, long, or with another digest. A fresh
// request may well bring it right (a proxy or mirror that served a damaged
// copy, a connection that closed cleanly too early), so it is fetched again
// within the retry budget network errors get.
class DamagedBlob : public Error {
 public:
  using Error::Error;
};

// "1 try", "5 tries": for messages that say how hard bld tried.
std::string Tries(int n) { return std::to_string(n) + (n == 1 ? " try" : " tries"); }

bool IsSchema1(std::string_view media_type) {
  return media_type == store::media_type::kDockerManifestSchema1Signed ||
         media_type == "application/vnd.docker.distribution.manifest.v1+json";
}

// A manifest's media type: the Content-Type when it names a manifest type;
// else the document's mediaType (umoci and podman write manifests without
// one, and some registries answer application/json); else its shape.
std::string ManifestMediaType(const HttpResponse& response) {
  std::string content_type = response.Header("content-type").value_or("");
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.pop_back();
  if (store::IsManifestMediaType(content_type) || store::IsIndexMediaType(content_type) || IsSchema1(content_type))
    return content_type;
  nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  if (!doc.is_object()) return content_type;
  if (auto it = doc.find("mediaType"); it != doc.end() && it->is_string() && !it->get<std::string>().empty())
    return it->get<std::string>();
  if (doc.contains("manifests")) return std::string(store::media_type::kOciIndex);
  if (doc.contains("config")) return std::string(store::media_type::kOciManifest);
  return content_type;
}

struct FetchedManifest {
  std::string body;
  std::string media_type;
  Digest digest;
};

class Puller : private RepositoryTransfer {
 public:
  Puller(store::Store& store, const Reference& reference, const PullOptions& options, const TransferEvents& events)
      : RepositoryTransfer(store, reference, options.registry, events, "pull"), options_(options) {}

  Descriptor Run();

  // The pieces of Run that RepositoryReader offers.
  FetchedManifest FetchManifest(const std::string& tag_or_digest, const std::optional<Digest>& expected);
  // A blob read whole, at most `max_size` bytes, and stored; `what` names it
  // in errors ("image config").
  std::string FetchSmallBlob(const Descriptor& blob, size_t max_size, const std::string& what);
  void FetchLayers(const std::vector<Descriptor>& layers, const std::vector<Digest>& diff_ids);
  void RecordSources(const std::vector<Digest>& digests) {
    RecordBlobSources(store_, digests, {session_.host(), repository_});
  }
  std::string Source() const { return session_.registry() + "/" + repository_; }
  BlobSource Location() const { return {session_.host(), repository_}; }

 private:
  // Layer `index` of the image, whose layers have `diff_ids`.
  void FetchLayer(const Descriptor& layer, const std::vector<Digest>& diff_ids, size_t index);
  // One download of a layer from its start; throws DamagedBlob when what
  // came is not the blob asked for.
  void DownloadLayer(const Descriptor& layer, const std::vector<Digest>& diff_ids, size_t index,
                     const std::string& what);
  // After the download: the size, the blob's digest and the diffID checked,
  // then the blob and its records stored and `unpack` (when not null)
  // committed.
  void CommitLayer(const Descriptor& layer, const Digest& diff_id, store::BlobWriter& writer, DiffIdHasher& hasher,
                   store::LayerUnpack* unpack, const std::string& what);
  Digest DiffIdOfStoredBlob(const Digest& blob) const;

  std::string BlobUrl(const Digest& digest) { return session_.Url("/v2/" + repository_ + "/blobs/" + digest.str()); }
  std::string Action() const { return "pull " + reference_.String(); }

  const PullOptions& options_;
};

Descriptor Puller::Run() {
  std::optional<Digest> pinned;
  if (!reference_.digest().empty()) pinned = Digest::Parse(reference_.digest());
  std::string wanted = pinned ? pinned->str() : (reference_.tag().empty() ? "latest" : reference_.tag());
  FetchedManifest top = FetchManifest(wanted, pinned);
  Emit({TransferEvent::Kind::kResolved, top.digest, 0, 0, top.media_type});

  FetchedManifest image = top;
  if (store::IsIndexMediaType(top.media_type)) {
    store::ImageIndex index = store::ParseImageIndex(top.body, top.digest);
    std::optional<Descriptor> chosen = SelectManifest(index, options_.platform);
    if (!chosen) {
      std::string available;
      for (const Descriptor& d : index.manifests)
        if (d.platform) available += (available.empty() ? "" : ", ") + FormatPlatform(*d.platform);
      throw Error(Action() + ": no image for " + FormatPlatform(options_.platform) + " in the index " +
                  top.digest.str() + " (it has: " + (available.empty() ? "none" : available) + ")");
    }
    image = FetchManifest(chosen->digest.str(), chosen->digest);
  }
  if (!store::IsManifestMediaType(image.media_type))
    throw Error(Action() + ": " + image.digest.str() + " has media type \"" + image.media_type +
                "\", which is not an image manifest bld can use");

  store::ImageManifest manifest = store::ParseImageManifest(image.body, image.digest);
  std::string config_json = FetchSmallBlob(manifest.config, store::kMaxConfigSize, "image config");
  store::ImageConfig config = store::ParseImageConfig(config_json, manifest.config.digest);
  if (config.rootfs.diff_ids.size() != manifest.layers.size())
    throw Error(Action() + ": the manifest " + image.digest.str() + " lists " + std::to_string(manifest.layers.size()) +
                " layers but its config " + manifest.config.digest.str() + " lists " +
                std::to_string(config.rootfs.diff_ids.size()) + " diffIDs");
  if (!options_.remote_layers) FetchLayers(manifest.layers, config.rootfs.diff_ids);

  store_.blobs().Put(image.body, image.digest);
  Descriptor result;
  result.media_type = image.media_type;
  result.digest = image.digest;
  result.size = static_cast<int64_t>(image.body.size());
  store_.RecordBlob(result);
  store_.RecordBlob(manifest.config);
  std::vector<Digest> digests = {image.digest, manifest.config.digest};
  for (const Descriptor& layer : manifest.layers) digests.push_back(layer.digest);
  RecordSources(digests);
  // After their sources: a remote layer always has somewhere to come from.
  for (size_t i = 0; options_.remote_layers && i < manifest.layers.size(); ++i)
    if (!store_.blobs().Exists(manifest.layers[i].digest))
      store_.RecordRemoteBlob(manifest.layers[i], config.rootfs.diff_ids[i]);
  if (options_.tag) store_.PutRef(reference_.String(), result);
  return result;
}

FetchedManifest Puller::FetchManifest(const std::string& tag_or_digest, const std::optional<Digest>& expected) {
  HttpRequest request;
  request.url = session_.Url("/v2/" + repository_ + "/manifests/" + tag_or_digest);
  request.headers.push_back(kManifestAcceptHeader);
  request.max_body_size = store::kMaxManifestSize;
  request.cancel = &cancel_;
  HttpResponse response = session_.Send(request, scopes_);
  if (!response.ok()) throw session_.Fail(Action() + ": manifest " + tag_or_digest, repository_, response);

  FetchedManifest m;
  m.digest = store::Sha256::Of(response.body);
  if (expected && m.digest != *expected)
    throw Error(Action() + ": the manifest " + Source() + "@" + expected->str() + " the registry sent has digest " +
                m.digest.str() + "; refusing it");
  if (std::optional<std::string> said = response.Header("docker-content-digest");
      said && Digest::Valid(*said) && *said != m.digest.str())
    throw Error(Action() + ": the registry said the manifest " + tag_or_digest + " is " + *said +
                " but sent content with digest " + m.digest.str() + "; refusing it");
  m.media_type = ManifestMediaType(response);
  if (IsSchema1(m.media_type))
    throw Error(Action() + ": " + tag_or_digest + " is a Docker schema 1 manifest, which docker no longer supports "
                "either; push the image again with a current client");
  m.body = std::move(response.body);
  return m;
}

std::string Puller::FetchSmallBlob(const Descriptor& config, size_t max_size, const std::string& what) {
  if (store_.blobs().Exists(config.digest)) return store_.blobs().ReadAll(config.digest, max_size);
  if (config.size < 0 || static_cast<uint64_t>(config.size) > max_size)
    throw Error(Action() + ": the " + what + " " + config.digest.str() + " is " + std::to_string(config.size) +
                " bytes, over the limit of " + std::to_string(max_size));
  const RetryPolicy& retry = session_.http().options().retry;
  for (int attempt = 1;; ++attempt) {
    HttpRequest request;
    request.url = BlobUrl(config.digest);
    request.max_body_size = max_size;
    request.cancel = &cancel_;
    HttpResponse response = session_.Send(request, scopes_);
    if (!response.ok()) throw session_.Fail(Action() + ": " + what + " " + config.digest.str(), repository_, response);
    Digest actual = store::Sha256::Of(response.body);
    if (actual == config.digest) {
      store_.blobs().Put(response.body, config.digest);
      return std::move(response.body);
    }
    std::string damage = "the " + what + " " + config.digest.str() + " from " + Source() + " came as " +
                         std::to_string(response.body.size()) + " bytes with digest " + actual.str();
    if (attempt >= retry.max_attempts) throw Error(Action() + ": " + damage + "; refusing it after " + Tries(attempt));
    std::this_thread::sleep_for(retry.Delay(attempt));
  }
}

void Puller::FetchLayers(const std::vector<Descriptor>& layers, const std::vector<Digest>& diff_ids) {
  for (const Descriptor& layer : layers)
    Emit({TransferEvent::Kind::kQueued, layer.digest, 0, static_cast<uint64_t>(std::max<int64_t>(layer.size, 0)), ""});
  ParallelFor(layers.size(), options_.parallel_downloads, cancel_,
              [&](size_t i) { FetchLayer(layers[i], diff_ids, i); });
}

Digest Puller::DiffIdOfStoredBlob(const Digest& blob) const {
  store::BlobReader reader = store_.blobs().Open(blob);
  store::DecompressingReader decompressed([&reader](void* out, size_t size) { return reader.Read(out, size); });
  store::Sha256 hash;
  std::vector<char> buffer(kReadBufferSize);
  while (size_t n = decompressed.Read(buffer.data(), buffer.size())) hash.Update(buffer.data(), n);
  return hash.Finish();
}

void Puller::FetchLayer(const Descriptor& layer, const std::vector<Digest>& diff_ids, size_t index) {
  const Digest& digest = layer.digest;
  const Digest& diff_id = diff_ids[index];
  std::string what = Action() + ": layer " + digest.str();
  if (store_.blobs().Exists(digest)) {
    std::optional<Digest> known = store_.DiffIdOf(digest);
    if (!known) {
      known = DiffIdOfStoredBlob(digest);
      store_.RecordDiffId(*known, digest);
    }
    if (*known != diff_id)
      throw Error(what + " decompresses to " + known->str() + ", but the image config lists the diffID " +
                  diff_id.str());
    if (!store_.BlobRecord(digest)) store_.RecordBlob(layer);
    Emit({TransferEvent::Kind::kExists, digest, 0, 0, ""});
    return;
  }
  if (layer.size < 0) throw Error(what + " has a negative size in the manifest");
  const RetryPolicy& retry = session_.http().options().retry;
  for (int attempt = 1;; ++attempt) {
    try {
      DownloadLayer(layer, diff_ids, index, what);
      return;
    } catch (const DamagedBlob& e) {
      if (attempt >= retry.max_attempts) throw Error(std::string(e.what()) + "; refusing it after " + Tries(attempt));
      Emit({TransferEvent::Kind::kRetrying, digest, 0, 0,
            std::string(e.what()) + "; fetching it again (try " + std::to_string(attempt + 1) + " of " +
                std::to_string(retry.max_attempts) + ")"});
      std::this_thread::sleep_for(retry.Delay(attempt));
    }
  }
}

void Puller::DownloadLayer(const Descriptor& layer, const std::vector<Digest>& diff_ids, size_t index,
                           const std::string& what) {
  const Digest& digest = layer.digest;
  const Digest& diff_id = diff_ids[index];
  auto size = static_cast<uint64_t>(layer.size);
  std::optional<store::BlobWriter> writer;
  // Declared before the hasher, which applies into it: destroyed after it.
  std::unique_ptr<store::LayerUnpack> unpack;
  std::unique_ptr<DiffIdHasher> diff_hasher;
  // libcurl hands the body over 16 KiB at a time; batching it costs one
  // write(2) and one hand-over to the decompressor per kWriteBatch instead.
  std::string batch;
  auto flush = [&] {
    if (batch.empty()) return;
    writer->Write(batch);
    diff_hasher->Write(batch.data(), batch.size());
    batch.clear();
    Emit({TransferEvent::Kind::kProgress, digest, writer->size(), size, ""});
  };
  auto start_over = [&] {
    writer.emplace(store_.blobs().NewWriter());
    diff_hasher.reset();  // its thread stops applying before its directory goes
    unpack = options_.unpack ? options_.unpack->Begin(diff_ids, index) : nullptr;
    diff_hasher = std::make_unique<DiffIdHasher>(unpack ? unpack->dir() : "");
    batch.clear();
  };
  start_over();
  for (int resumes = 0;;) {
    uint64_t offset = writer->size();
    HttpRequest request;
    request.url = BlobUrl(digest);
    request.cancel = &cancel_;
    if (offset > 0) request.headers.push_back("Range: bytes=" + std::to_string(offset) + "-");
    request.on_response = [&](const HttpResponse& head) {
      if (offset == 0) return;
      if (head.status != 206) {
        start_over();  // the registry ignored the Range and sends it all
        return;
      }
      std::string range = head.Header("content-range").value_or("");
      if (!range.starts_with("bytes " + std::to_string(offset) + "-"))
        throw Error(what + ": asked for the bytes from " + std::to_string(offset) + " on, the registry sent \"" +
                    range + "\"");
    };
    request.sink = [&](const char* data, size_t n) {
      if (writer->size() + batch.size() + n > size)
        throw DamagedBlob(what + " from " + Source() + " came with more than the " + std::to_string(size) +
                          " bytes the manifest gives for it");
      batch.append(data, n);
      if (batch.size() >= kWriteBatch) flush();
    };
    request.on_retry = [&](const std::string& why) { Emit({TransferEvent::Kind::kRetrying, digest, 0, 0, why}); };
    HttpResponse response;
    try {
      response = session_.Send(request, scopes_);
      flush();
    } catch (const TransportError& e) {
      flush();
      // A failure before any byte came was retried by the HTTP client already.
      if (!e.transient() || e.body_received() == 0 || ++resumes > kMaxResumes) throw Error(what + ": " + e.what());
      Emit({TransferEvent::Kind::kRetrying, digest, 0, 0,
            std::string(e.what()) + "; resuming at byte " + std::to_string(writer->size())});
      std::this_thread::sleep_for(session_.http().options().retry.Delay(resumes));
      continue;
    }
    if (!response.ok()) throw session_.Fail(what, repository_, response);
    break;
  }
  CommitLayer(layer, diff_id, *writer, *diff_hasher, unpack.get(), what);
}

void Puller::CommitLayer(const Descriptor& layer, const Digest& diff_id, store::BlobWriter& writer,
                         DiffIdHasher& hasher, store::LayerUnpack* unpack, const std::string& what) {
  const Digest& digest = layer.digest;
  auto size = static_cast<uint64_t>(layer.size);
  if (writer.size() != size)
    throw DamagedBlob(what + " from " + Source() + " came short: " + std::to_string(writer.size()) +
                      " bytes of the " + std::to_string(size) + " the manifest gives for it");
  Emit({TransferEvent::Kind::kVerifying, digest, size, size, ""});
  std::optional<Error> diff_id_failure;
  try {
    Digest actual_diff_id = hasher.Finish();
    if (actual_diff_id != diff_id)
      diff_id_failure = Error(what + " decompresses to " + actual_diff_id.str() +
                              ", but the image config lists the diffID " + diff_id.str() + "; refusing it");
  } catch (const Error& e) {
    diff_id_failure = Error(what + " is not a valid layer: " + e.what());
  }
  // The writer hashed every byte, and Commit checks the digest before the
  // blob becomes visible. It comes first even when the diffID is wrong: a blob
  // that is not the one asked for explains a wrong diffID too, and is the
  // failure to report. A blob that is right but that its config contradicts
  // stays stored (it holds what its name says), unreferenced, for prune.
  try {
    writer.Commit(digest);
  } catch (const Error& e) {
    throw DamagedBlob(what + " from " + Source() + " is not the blob asked for (" + e.what() + ")");
  }
  if (diff_id_failure) throw *diff_id_failure;
  store_.RecordBlob(layer);
  store_.RecordDiffId(diff_id, digest);
  if (unpack) unpack->Commit();
  Emit({TransferEvent::Kind::kDone, digest, size, size, ""});
}

}  // namespace

struct RepositoryReader::Impl {
  Impl(store::Store& store, const Reference& ref, const PullOptions& opts)
      : reference(ref), options(opts), puller(store, reference, options, events) {}
  Reference reference;
  PullOptions options;
  TransferEvents events;
  Puller puller;
};

RepositoryReader::RepositoryReader(store::Store& store, const Reference& reference, const PullOptions& options)
    : impl_(std::make_unique<Impl>(store, reference, options)) {}

RepositoryReader::~RepositoryReader() = default;

RepositoryReader::Manifest RepositoryReader::FetchManifest() {
  const Reference& ref = impl_->reference;
  std::optional<Digest> pinned;
  if (!ref.digest().empty()) pinned = Digest::Parse(ref.digest());
  FetchedManifest m =
      impl_->puller.FetchManifest(pinned ? pinned->str() : (ref.tag().empty() ? "latest" : ref.tag()), pinned);
  return {std::move(m.body), std::move(m.media_type), m.digest};
}

std::string RepositoryReader::FetchBlob(const Descriptor& blob, size_t max_size, const std::string& what) {
  return impl_->puller.FetchSmallBlob(blob, max_size, what);
}

void RepositoryReader::FetchLayers(const std::vector<Descriptor>& layers, const std::vector<Digest>& diff_ids) {
  impl_->puller.FetchLayers(layers, diff_ids);
  std::vector<Digest> digests;
  for (const Descriptor& layer : layers) digests.push_back(layer.digest);
  impl_->puller.RecordSources(digests);
}

std::string RepositoryReader::Source() const { return impl_->puller.Source(); }

BlobSource RepositoryReader::Location() const { return impl_->puller.Location(); }

Descriptor Pull(store::Store& store, const Reference& reference, const PullOptions& options,
                const TransferEvents& events) {
  if (reference.domain().empty()) throw Error("pull " + reference.String() + ": the reference names no registry");
  return Puller(store, reference, options, events).Run();
}

}  // namespace bld::registry
