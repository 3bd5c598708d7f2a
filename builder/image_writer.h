// The end of a build: the target stage's state becomes an image in the
// store (or, for several platforms, an image index), and every -t name
// points at it.
//
// The config gets the --label values and, when the Dockerfile never set
// them, the target platform; its `created` is the last history entry's time,
// so a fully cached build writes the same config, manifest and image ID as
// the build that filled the cache. Blobs are written before the refs that
// name them (store.h). An image without a -t name gets an untagged ref
// (`<none>@sha256:...`), as Docker's <none> images, so prune keeps it.
//
// Thread-safety: as the store.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "builder/image_state.h"
#include "store/store.h"

namespace bld::builder {

struct ImageWriteOptions {
  std::vector<std::string> tags;  // as the user wrote them
  std::map<std::string, std::string> labels;
  store::Platform platform;       // for a config that names none
  bool oci_format = true;         // false: Docker schema 2 media types
  std::string created_fallback;   // `created` of an image without history
};

struct WrittenImage {
  store::Digest image_id;      // the config digest
  store::Descriptor manifest;  // what the refs point at
};

WrittenImage WriteBuiltImage(store::Store& store, const ImageState& state, const ImageWriteOptions& options);

// The result of a multi-platform build: one image per platform, each
// written as WriteBuiltImage writes it (its config names `platform` when the
// Dockerfile's base named none), and an image index over them (a manifest
// list with oci_format false) that the refs point at. `image_id` is the
// index's digest, as Docker's containerd store shows a multi-platform image.
struct PlatformImage {
  store::Platform platform;
  ImageState state;
};
WrittenImage WriteBuiltIndex(store::Store& store, const std::vector<PlatformImage>& images,
                             const ImageWriteOptions& options);

}  // namespace bld::builder
