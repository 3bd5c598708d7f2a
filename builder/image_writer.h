// The end of a build: the target stage's state becomes an image in the
// store, and every -t name points at it.
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

}  // namespace bld::builder
