// Pushing an image from the store to a registry: `bld push NAME[:TAG]`.
//
// The steps, each a request of the distribution v2 protocol:
//  1. For each blob (configs and layers), a few at once: HEAD it; if the
//     registry has it, done ("Layer already exists").
//  2. Else, if the blob is known to be in another repository of the same
//     registry (blob_sources.h), ask for a cross-repository mount: POST
//     /blobs/uploads/?mount=<digest>&from=<repo>; 201 means done ("Mounted
//     from ..."), 202 means the registry started an upload instead.
//  3. Else upload it: a blob up to monolithic_limit in one request (POST,
//     then PUT with the body and the digest); a larger one in chunks of
//     chunk_size (PATCH with Content-Range each, then PUT with the digest).
//     After a dropped connection or a 5xx, the pusher asks the registry how
//     much it has (GET on the upload URL: Range 0-<last>) and goes on from
//     there; if the registry has dropped the upload (distribution does, when
//     a chunk arrived in part), it starts a new one. A remote layer
//     (remote_blobs.h) is fetched into the store first. An upload the registry
//     refuses as DIGEST_INVALID (bytes damaged on the way) is started again
//     from the start, once; the second refusal is the error, saying so.
//  4. The manifests last, each with its media type as Content-Type: child
//     manifests by digest, then the image by tag, so that the tag never names
//     an image whose blobs are not all there.
// Upload Location headers may be absolute or relative URLs; each request goes
// to the latest one, since registries carry upload state in it.
//
// Thread safety: Push may be called from several threads at once.
#pragma once

#include <cstdint>
#include <string>

#include "registry/reference.h"
#include "registry/session.h"
#include "registry/transfer_events.h"
#include "store/oci.h"
#include "store/store.h"

namespace bld::registry {

struct PushOptions {
  RegistryOptions registry;
  // Blobs uploaded at once.
  int parallel_uploads = 3;
  // Up to this size a blob goes in one request: most layers and every config
  // are small, and one request is the fastest way. Beyond it, a dropped
  // connection would cost too much to send again.
  uint64_t monolithic_limit = 32 << 20;
  // A larger blob goes in chunks of this size: what one failure can cost
  // where the registry can resume, against one request's overhead per chunk.
  uint64_t chunk_size = 16 << 20;
};

struct PushResult {
  store::Descriptor manifest;  // what the tag (or digest) now points at
  std::string tag;             // the tag pushed, or the digest when pushed by digest
};

// Pushes the image the store's ref reference.String() points at to
// `reference` (normalized, with a registry and a tag or digest).
PushResult Push(store::Store& store, const Reference& reference, const PushOptions& options,
                const TransferEvents& events = {});

// Pushes the manifest `manifest`, which need not be an image nor named by a
// ref (the build cache, builder/cache_export.h), and every blob it reaches, to
// `reference`. The manifest is in the store; a blob may be missing from the
// store if the registry has it in that repository already (step 1) or can
// mount it (step 2).
PushResult PushManifest(store::Store& store, const Reference& reference, const store::Descriptor& manifest,
                        const PushOptions& options, const TransferEvents& events = {});

}  // namespace bld::registry
