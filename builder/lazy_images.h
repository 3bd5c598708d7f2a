// Completing a lazy image: the blobs of its lazy layers written from their
// snapshots, and its names pointed at a manifest that names those blobs.
//
// `bld build` leaves the layers it made lazy (store/lazy_layer.h) unless a
// push, an archive output or a cache export of the same build needs them;
// `bld push` and `bld save` call CompleteImage first. The blobs are written
// as each layer's annotation says (compression, time clamp), so the result is
// byte for byte the manifest the build would have written had it compressed
// them itself: the image ID (the config) never changes, and a deterministic
// build pushes the same manifest digest either way.
//
// Crash safety: blobs first, each committed before any record names it;
// then the refs are repointed in one transaction. Killed before that, the
// store still holds the lazy image and the next push completes it again.
//
// Thread-safety: as the store. Two threads fetching the same remote layer
// both download it; the store keeps one copy.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "registry/session.h"
#include "runner/snapshotter.h"
#include "store/oci.h"
#include "store/store.h"

namespace bld::builder {

// The descriptor of `root` (an image manifest or index) completed: itself
// when nothing in it is lazy, else a new manifest (or index over completed
// manifests) that every ref to `root` now points at. `workers` threads
// compress at once. Throws bld::Error when a lazy layer has lost its
// snapshot (`bld check` reports it too).
store::Descriptor CompleteImage(store::Store& store, const store::Descriptor& root, int workers = 2);

// Remote layers (registry/remote_blobs.h): a base a --cache-from build
// pulled without its layers, layers a push-only build left in the registry
// it pushes to. What reads their bytes fetches them first:

// The remote layers of `layers` fetched, but for those known to be at a
// registry whose API host is in `leave_at` (a push there mounts them).
void FetchRemoteLayers(store::Store& store, const std::vector<store::Descriptor>& layers,
                       const registry::RegistryOptions& registry, const std::vector<std::string>& leave_at = {});
// The remote layers among `layers` (base first) that the runner would
// unpack, fetched and unpacked as they arrive: those with neither a blob nor
// a snapshot. With `one_at_a_time`, fetches hold it (threads that find
// nothing to fetch do not wait for it).
void FetchRemoteLayers(store::Store& store, const std::vector<runner::LayerRef>& layers,
                       const registry::RegistryOptions& registry, std::mutex* one_at_a_time = nullptr);

}  // namespace bld::builder
