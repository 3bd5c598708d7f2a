#include "registry/pusher.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "registry/blob_sources.h"
#include "registry/parallel.h"
#include "registry/registry_error.h"
#include "registry/remote_blobs.h"
#include "registry/repository_transfer.h"
#include "store/error.h"
#include "store/lazy_layer.h"

namespace bld::registry {

namespace {

using store::Descriptor;
using store::Digest;

// Mount requests tried per blob: each known source costs a round trip, and a
// registry refusing two is unlikely to accept a third.
constexpr int kMaxMountAttempts = 2;
// Times one blob upload recovers from a dropped connection or a 5xx.
constexpr int kMaxUploadRecoveries = 5;
// Uploads of one blob from its start when the registry refuses what it got
// as DIGEST_INVALID: the bytes were damaged on the way (a proxy, a bad NIC),
// which one more try may get past; the same refusal twice is no accident.
constexpr int kDigestInvalidUploads = 2;

// A failure another try may get past: a dropped connection or a 5xx.
class UploadInterrupted : public Error {
 public:
  using Error::Error;
};

bool IsConfigMediaType(std::string_view media_type) {
  return media_type == store::media_type::kOciConfig || media_type == store::media_type::kDockerConfig;
}

// The last byte offset of a Range header "0-<last>" (distribution writes it
// without the "bytes=" unit; some registries add it).
std::optional<uint64_t> UploadRangeEnd(const std::optional<std::string>& header) {
  if (!header) return std::nullopt;
  std::string_view v = *header;
  if (v.starts_with("bytes=")) v.remove_prefix(6);
  if (!v.starts_with("0-")) return std::nullopt;
  v.remove_prefix(2);
  uint64_t last = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), last);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return last;
}

std::string WithQuery(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

class Pusher : private RepositoryTransfer {
 public:
  Pusher(store::Store& store, const Reference& reference, const PushOptions& options, const TransferEvents& events)
      : RepositoryTransfer(store, reference, options.registry, events, "pull,push"), options_(options) {}

  PushResult Run();
  // Pushes `root` and what it reaches.
  PushResult RunFrom(const Descriptor& root);

 private:
  void PushBlob(const Descriptor& blob, bool report);
  bool TryMount(const Descriptor& blob, std::string& location, bool report);
  std::string StartUpload();
  void Upload(const Descriptor& blob, std::string location, bool report);
  // One PATCH or PUT carrying [offset, offset + length) of the blob.
  HttpResponse SendData(const std::string& method, const std::string& url, const Descriptor& blob, uint64_t offset,
                        uint64_t length, bool report);
  void PushManifest(const Descriptor& manifest, const std::string& tag_or_digest);

  std::string Action() const { return "push " + reference_.String(); }
  std::string Url(const std::string& path) { return session_.Url("/v2/" + repository_ + path); }

  const PushOptions& options_;
};

PushResult Pusher::Run() {
  std::optional<Descriptor> root = store_.GetRef(reference_.String());
  if (!root)
    throw Error(Action() + ": no image " + reference_.FamiliarString() +
                " in the store (tag an image with that name, or build it with -t)");
  return RunFrom(*root);
}

PushResult Pusher::RunFrom(const Descriptor& root) {
  std::vector<Descriptor> closure = store_.Closure(root);
  std::vector<Descriptor> manifests;
  std::vector<Descriptor> blobs;
  for (const Descriptor& d : closure) {
    bool is_manifest = store::IsManifestMediaType(d.media_type) || store::IsIndexMediaType(d.media_type);
    if (store::IsLazyLayer(d) && !store_.blobs().Exists(d.digest))
      throw Error(Action() + ": the layer " + d.digest.str() + " has no blob yet (a lazy image must be completed " +
                  "before a push: builder/lazy_images.h)");
    (is_manifest ? manifests : blobs).push_back(d);
  }
  for (const Descriptor& b : blobs)
    if (!IsConfigMediaType(b.media_type))
      Emit({TransferEvent::Kind::kQueued, b.digest, 0, static_cast<uint64_t>(std::max<int64_t>(b.size, 0)), ""});

  ParallelFor(blobs.size(), options_.parallel_uploads, cancel_,
              [&](size_t i) { PushBlob(blobs[i], !IsConfigMediaType(blobs[i].media_type)); });

  // Children before the manifests that list them; the root last, by tag.
  std::string tag_or_digest = reference_.digest().empty() ? reference_.tag() : reference_.digest();
  if (tag_or_digest.empty()) tag_or_digest = "latest";
  for (auto it = manifests.rbegin(); it != manifests.rend(); ++it)
    PushManifest(*it, it->digest == root.digest ? tag_or_digest : it->digest.str());

  std::vector<Digest> digests;
  for (const Descriptor& d : closure) digests.push_back(d.digest);
  RecordBlobSources(store_, digests, {session_.host(), repository_});
  return {root, tag_or_digest};
}

void Pusher::PushBlob(const Descriptor& blob, bool report) {
  HttpRequest head;
  head.method = "HEAD";
  head.url = Url("/blobs/" + blob.digest.str());
  head.cancel = &cancel_;
  HttpResponse response = session_.Send(head, scopes_);
  if (response.status == 200) {
    if (report) Emit({TransferEvent::Kind::kExists, blob.digest, 0, 0, ""});
    return;
  }
  if (response.status != 404) throw session_.Fail(Action() + ": check for blob " + blob.digest.str(), repository_, response);
  std::string location;
  if (TryMount(blob, location, report)) return;
  // A remote layer the registry would not mount: its bytes come first.
  if (!store_.blobs().Exists(blob.digest)) {
    PullOptions fetch;
    fetch.registry = options_.registry;
    FetchRemoteLayers(store_, {blob.digest}, fetch);
  }
  Upload(blob, location.empty() ? StartUpload() : location, report);
}

bool Pusher::TryMount(const Descriptor& blob, std::string& location, bool report) {
  int attempts = 0;
  for (const BlobSource& source : BlobSources(store_, blob.digest)) {
    if (source.registry != session_.host() || source.repository == repository_) continue;
    if (++attempts > kMaxMountAttempts) break;
    HttpRequest request;
    request.method = "POST";
    request.url = Url("/blobs/uploads/?mount=" + UrlEscape(blob.digest.str()) + "&from=" + UrlEscape(source.repository));
    request.cancel = &cancel_;
    std::vector<std::string> scopes = scopes_;
    scopes.push_back(RepositoryScope(source.repository, "pull"));
    HttpResponse response = session_.Send(request, scopes);
    if (response.status == 201) {
      if (report) Emit({TransferEvent::Kind::kMounted, blob.digest, 0, 0, source.repository});
      return true;
    }
    if (response.status == 202) {
      // The registry would not mount it and started a plain upload instead.
      if (std::optional<std::string> l = response.Header("location")) location = ResolveUrl(response.url, *l);
      return false;
    }
    // Anything else (no access to the source, say): try the next, then upload.
  }
  return false;
}

std::string Pusher::StartUpload() {
  HttpRequest request;
  request.method = "POST";
  request.url = Url("/blobs/uploads/");
  request.cancel = &cancel_;
  HttpResponse response = session_.Send(request, scopes_);
  std::optional<std::string> location = response.Header("location");
  if (response.status != 202 || !location) throw session_.Fail(Action() + ": start an upload", repository_, response);
  return ResolveUrl(response.url, *location);
}

HttpResponse Pusher::SendData(const std::string& method, const std::string& url, const Descriptor& blob,
                              uint64_t offset, uint64_t length, bool report) {
  HttpRequest request;
  request.method = method;
  request.url = url;
  request.cancel = &cancel_;
  // The registry may keep part of a body that failed midway: only the
  // recovery in Upload knows how to go on, so no blind resend here.
  request.retry = false;
  request.headers.push_back("Content-Type: application/octet-stream");
  if (method == "PATCH" && length > 0)
    request.headers.push_back("Content-Range: " + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
  const store::BlobStore& blobs = store_.blobs();
  Digest digest = blob.digest;
  HttpBody body;
  body.size = length;
  body.open = [&blobs, digest, offset, length] {
    auto reader = std::make_shared<store::BlobReader>(blobs.Open(digest));
    auto position = std::make_shared<uint64_t>(offset);
    uint64_t end = offset + length;
    return store::ByteSource([reader, position, end, digest](void* out, size_t size) -> size_t {
      size_t n = static_cast<size_t>(std::min<uint64_t>(size, end - *position));
      if (n == 0) return 0;
      ssize_t got = ::pread(reader->fd(), out, n, static_cast<off_t>(*position));
      if (got < 0) throw SysError("reading blob " + digest.str());
      if (got == 0) throw Error("blob " + digest.str() + " in the store is shorter than its descriptor says");
      *position += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    });
  };
  request.body = std::move(body);
  if (report) {
    auto total = static_cast<uint64_t>(blob.size);
    request.progress = [this, digest, offset, total](uint64_t sent, uint64_t) {
      Emit({TransferEvent::Kind::kProgress, digest, offset + sent, total, ""});
    };
  }
  try {
    return session_.Send(request, scopes_);
  } catch (const TransportError& e) {
    if (e.transient()) throw UploadInterrupted(e.what());
    throw;
  }
}

void Pusher::Upload(const Descriptor& blob, std::string location, bool report) {
  std::string what = Action() + ": upload blob " + blob.digest.str();
  auto size = static_cast<uint64_t>(blob.size);
  std::string digest_query = "digest=" + UrlEscape(blob.digest.str());
  uint64_t offset = 0;
  int uploads = 1;
  for (int recoveries = 0;;) {
    try {
      HttpResponse response;
      if (offset == 0 && size <= options_.monolithic_limit) {
        response = SendData("PUT", WithQuery(location, digest_query), blob, 0, size, report);
      } else {
        while (offset < size) {
          uint64_t length = std::min(options_.chunk_size, size - offset);
          response = SendData("PATCH", location, blob, offset, length, report);
          if (IsRetryableStatus(response.status))
            throw UploadInterrupted("PATCH answered " + std::to_string(response.status));
          std::optional<std::string> next = response.Header("location");
          if (response.status != 202 || !next) throw session_.Fail(what, repository_, response);
          location = ResolveUrl(response.url, *next);
          std::optional<uint64_t> last = UploadRangeEnd(response.Header("range"));
          offset = last ? *last + 1 : offset + length;
        }
        response = SendData("PUT", WithQuery(location, digest_query), blob, size, 0, false);
      }
      if (IsRetryableStatus(response.status))
        throw UploadInterrupted("PUT answered " + std::to_string(response.status));
      if (response.status != 201) {
        RegistryError refused = session_.Fail(what, repository_, response);
        if (!refused.HasCode("DIGEST_INVALID")) throw refused;
        if (uploads >= kDigestInvalidUploads)
          throw Error(std::string(refused.what()) + " (refused after " + std::to_string(uploads) +
                      " uploads from the start)");
        ++uploads;
        offset = 0;
        location = StartUpload();
        Emit({TransferEvent::Kind::kRetrying, blob.digest, 0, size,
              "the registry refused the upload as DIGEST_INVALID; uploading again from the start (try " +
                  std::to_string(uploads) + " of " + std::to_string(kDigestInvalidUploads) + ")"});
        continue;
      }
      if (std::optional<std::string> said = response.Header("docker-content-digest"); said && *said != blob.digest.str())
        throw Error(what + ": the registry stored it as " + *said);
      break;
    } catch (const UploadInterrupted& e) {
      if (++recoveries > kMaxUploadRecoveries)
        throw Error(what + ": " + e.what() + " (gave up after " + std::to_string(kMaxUploadRecoveries) + " recoveries)");
      std::this_thread::sleep_for(session_.http().options().retry.Delay(recoveries));
      // Where is the upload now? Distribution answers 204 with Range; an
      // upload it dropped is 404 (or 400 when the chunk was kept in part).
      HttpRequest status;
      status.url = location;
      status.cancel = &cancel_;
      HttpResponse answer = session_.Send(status, scopes_);
      std::optional<uint64_t> last = UploadRangeEnd(answer.Header("range"));
      std::optional<std::string> next = answer.Header("location");
      // "0-0" means 0 or 1 bytes: nothing worth keeping either way.
      if ((answer.status == 204 || answer.status == 202) && last && *last > 0 && *last < size && next) {
        offset = *last + 1;
        location = ResolveUrl(answer.url, *next);
        Emit({TransferEvent::Kind::kRetrying, blob.digest, offset, size,
              std::string(e.what()) + "; the registry has " + std::to_string(offset) + " bytes, going on from there"});
      } else {
        offset = 0;
        location = StartUpload();
        Emit({TransferEvent::Kind::kRetrying, blob.digest, 0, size,
              std::string(e.what()) + "; the registry kept nothing, uploading again"});
      }
    }
  }
  if (report) Emit({TransferEvent::Kind::kDone, blob.digest, size, size, ""});
}

void Pusher::PushManifest(const Descriptor& manifest, const std::string& tag_or_digest) {
  HttpRequest request;
  request.method = "PUT";
  request.url = Url("/manifests/" + tag_or_digest);
  request.cancel = &cancel_;
  request.headers.push_back("Content-Type: " + manifest.media_type);
  request.body = HttpBody::FromString(store_.blobs().ReadAll(manifest.digest, store::kMaxManifestSize));
  HttpResponse response = session_.Send(request, scopes_);
  if (response.status != 201 && response.status != 200)
    throw session_.Fail(Action() + ": manifest " + manifest.digest.str(), repository_, response);
  if (std::optional<std::string> said = response.Header("docker-content-digest"); said && *said != manifest.digest.str())
    throw Error(Action() + ": the registry stored the manifest " + manifest.digest.str() + " as " + *said);
}

}  // namespace

PushResult Push(store::Store& store, const Reference& reference, const PushOptions& options,
                const TransferEvents& events) {
  if (reference.domain().empty()) throw Error("push " + reference.String() + ": the reference names no registry");
  return Pusher(store, reference, options, events).Run();
}

PushResult PushManifest(store::Store& store, const Reference& reference, const store::Descriptor& manifest,
                        const PushOptions& options, const TransferEvents& events) {
  if (reference.domain().empty()) throw Error("push " + reference.String() + ": the reference names no registry");
  return Pusher(store, reference, options, events).RunFrom(manifest);
}

}  // namespace bld::registry
