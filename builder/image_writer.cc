#include "builder/image_writer.h"

#include "registry/image_lookup.h"
#include "store/image.h"

namespace bld::builder {

WrittenImage WriteBuiltImage(store::Store& store, const ImageState& state, const ImageWriteOptions& options) {
  store::ImageConfig config = state.config;
  for (const auto& [k, v] : options.labels) config.config.labels[k] = v;
  config.created = config.history.empty() ? options.created_fallback : config.history.back().created;
  if (config.architecture.empty()) {
    config.architecture = options.platform.architecture;
    config.os = options.platform.os;
  }
  WrittenImage out;
  out.manifest = store::WriteImage(store, config, state.layers, options.oci_format, &out.image_id);
  std::vector<std::string> names;
  for (const std::string& t : options.tags) names.push_back(registry::CanonicalRefName(t));
  if (names.empty()) names.push_back(store::UntaggedRefName(out.manifest.digest));
  for (const std::string& n : names) store.PutRef(n, out.manifest);
  return out;
}

}  // namespace bld::builder
