// Where blobs came from: the registries and repositories each blob is known
// to be in, so that a push to another repository of the same registry can
// mount a blob (one request) instead of uploading it again. containerd keeps
// the same facts as "distribution source" labels on its content.
//
// A pull records the repository it pulled from for every blob it stored or
// found; a push records the repository it pushed to. Records are hints: a
// mount the registry refuses falls back to an upload.
//
// Storage: the store's kBlobs table, under keys
// "source/<digest>/<registry>/<repository>" with empty values, beside the
// store's own "sha256:<hex>" records, which a scan for the "sha256:" prefix
// lists without these.
//
// Thread safety: as the store's, any number of threads and processes.
#pragma once

#include <string>
#include <vector>

#include "store/digest.h"
#include "store/store.h"

namespace bld::registry {

struct BlobSource {
  std::string registry;    // API host, "127.0.0.1:5000"
  std::string repository;  // "library/alpine"

  friend bool operator==(const BlobSource&, const BlobSource&) = default;
};

// Records that every blob of `digests` is in `source`, in one transaction.
void RecordBlobSources(store::Store& store, const std::vector<store::Digest>& digests, const BlobSource& source);
// The places `digest` is known to be in, sorted.
std::vector<BlobSource> BlobSources(const store::Store& store, const store::Digest& digest);

}  // namespace bld::registry
