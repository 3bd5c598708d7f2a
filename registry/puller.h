// Pulling an image from a registry into the store: `bld pull`, and FROM of an
// image the store does not have.
//
// The steps, each a request of the distribution v2 protocol:
//  1. GET the manifest by tag or digest, accepting OCI and Docker manifests
//     and indexes. A pinned digest ("name@sha256:...") must match what
//     arrives; a tag's answer must match the registry's Docker-Content-Digest.
//  2. For an index (or manifest list), pick the manifest for the platform
//     (store/platform.h) and GET it by digest.
//  3. GET the config and check it lists one diffID per layer.
//  4. GET the layers, a few at once. Each streams into the store's ingest/
//     while its sha256 and (on another thread) the sha256 of what it
//     decompresses to are computed; a dropped connection resumes with a Range
//     request. A layer becomes visible in the store only if its digest
//     matches, and the pull goes on only if its diffID is the one the config
//     lists. Layers already in the store with a known diffID are not fetched.
//     With PullOptions::unpack, the decompressed stream is also applied into
//     the layer's snapshot, committed once blob and diffID checked out.
//     A blob (config or layer) that arrives with another digest, or short
//     or long, is fetched again from its start, up to the HTTP client's
//     RetryPolicy::max_attempts tries in all (the budget network errors
//     get): a proxy or mirror that served a damaged copy is not the
//     registry's last word. The final error says how many tries were made.
//  5. Record the blobs' media types, diffIDs and source repository, then
//     write the ref, last: a failed pull leaves no ref and no unverified blob.
// With PullOptions::remote_layers, step 4 is left out: the layers are
// recorded as remote, to be fetched and checked when something reads them.
//
// Thread safety: Pull may be called from several threads at once (each call
// has its own connections); the store allows it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "registry/blob_sources.h"
#include "registry/reference.h"
#include "registry/session.h"
#include "registry/transfer_events.h"
#include "store/image.h"
#include "store/layer_unpack.h"
#include "store/oci.h"
#include "store/platform.h"
#include "store/store.h"

namespace bld::registry {

struct PullOptions {
  RegistryOptions registry;
  // The platform to pick from an index.
  store::Platform platform = store::HostPlatform();
  // Layers fetched at once: docker's default max-concurrent-downloads.
  int parallel_downloads = 3;
  // When set, each downloaded layer is also unpacked into its snapshot as
  // it arrives (store/layer_unpack.h).
  store::LayerUnpackTarget* unpack = nullptr;
  // Leave the layers in the registry: each not in the store is recorded as
  // a remote layer (remote_blobs.h), fetched by whatever reads it. A build
  // with --cache-from pulls its bases so: a fully cached build never reads
  // them, and a push to the same registry mounts them.
  bool remote_layers = false;
  // Point the reference's ref at what was pulled. A build pulling a base for
  // another platform than the host's leaves it: the name keeps meaning the
  // image this machine runs.
  bool tag = true;
};

// The Accept header for manifests: every manifest and index type bld reads.
// (A registry answers 404 for an OCI manifest not listed here.)
extern const char* const kManifestAcceptHeader;

// Pulls `reference` (normalized, with a registry: Reference::ParseDockerRef)
// and points the ref reference.String() at the image manifest it resolved
// to (unless options.tag is false), which it returns. `events` may be empty.
store::Descriptor Pull(store::Store& store, const Reference& reference, const PullOptions& options,
                       const TransferEvents& events = {});

// A repository read piece by piece, for what is not pulled as an image: the
// build cache (builder/cache_import.h) reads a manifest, its config and,
// later and only when needed, some of the layers it names. One session
// serves every request. Layers are checked and recorded as a pull's are
// (step 4 above), and this repository is recorded as their source, so that
// a push to another repository of the registry mounts them.
//
// Thread safety: FetchLayers may be called from several threads at once.
class RepositoryReader {
 public:
  RepositoryReader(store::Store& store, const Reference& reference, const PullOptions& options);
  ~RepositoryReader();
  RepositoryReader(const RepositoryReader&) = delete;
  RepositoryReader& operator=(const RepositoryReader&) = delete;

  struct Manifest {
    std::string body;
    std::string media_type;
    store::Digest digest;
  };
  // The manifest or index the reference names, by tag or digest.
  Manifest FetchManifest();
  // A blob read whole (at most `max_size` bytes) and stored; `what` names it
  // in errors.
  std::string FetchBlob(const store::Descriptor& blob, size_t max_size, const std::string& what);
  // Layers whose diffIDs are `diff_ids`, into the store; those it has are
  // not fetched.
  void FetchLayers(const std::vector<store::Descriptor>& layers, const std::vector<store::Digest>& diff_ids);
  // "registry/repository", for messages.
  std::string Source() const;
  // The API host and repository, as blob_sources.h records them.
  BlobSource Location() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bld::registry
