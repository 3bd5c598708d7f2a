#include "builder/image_writer.h"

#include "registry/image_lookup.h"
#include "store/image.h"

namespace bld::builder {

namespace {

// The image's manifest, written without refs.
WrittenImage WriteManifestOnly(store::Store& store, const ImageState& state, const ImageWriteOptions& options) {
  store::ImageConfig config = state.config;
  for (const auto& [k, v] : options.labels) config.config.labels[k] = v;
  config.created = config.history.empty() ? options.created_fallback : config.history.back().created;
  if (config.architecture.empty()) {
    config.architecture = options.platform.architecture;
    config.os = options.platform.os;
    config.variant = options.platform.variant;
  }
  WrittenImage out;
  out.manifest = store::WriteImage(store, config, state.layers, options.oci_format, &out.image_id);
  out.manifest.platform = store::ConfigPlatform(config);
  return out;
}

// Every -t name, or else an untagged ref, points at `root`.
void PutRefs(store::Store& store, const std::vector<std::string>& tags, const store::Descriptor& root) {
  std::vector<std::string> names;
  for (const std::string& t : tags) names.push_back(registry::CanonicalRefName(t));
  if (names.empty()) names.push_back(store::UntaggedRefName(root.digest));
  store::Descriptor plain = root;
  plain.platform.reset();  // a ref names the image, not an entry of an index
  for (const std::string& n : names) store.PutRef(n, plain);
}

}  // namespace

WrittenImage WriteBuiltImage(store::Store& store, const ImageState& state, const ImageWriteOptions& options) {
  WrittenImage out = WriteManifestOnly(store, state, options);
  out.manifest.platform.reset();
  PutRefs(store, options.tags, out.manifest);
  return out;
}

WrittenImage WriteBuiltIndex(store::Store& store, const std::vector<PlatformImage>& images,
                             const ImageWriteOptions& options) {
  std::vector<store::Descriptor> manifests;
  for (const PlatformImage& image : images) {
    ImageWriteOptions one = options;
    one.platform = image.platform;
    manifests.push_back(WriteManifestOnly(store, image.state, one).manifest);
  }
  WrittenImage out;
  out.manifest = store::WriteIndex(store, manifests, options.oci_format);
  out.image_id = out.manifest.digest;
  PutRefs(store, options.tags, out.manifest);
  return out;
}

}  // namespace bld::builder
