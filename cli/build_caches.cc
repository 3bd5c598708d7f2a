#include "cli/build_caches.h"

#include "registry/reference.h"
#include "store/error.h"

namespace bld::cli {

namespace {

// The spec's ref= as a registry reference, refused with the spec quoted.
registry::Reference CheckedRef(const builder::CacheSpec& spec, const std::string& flag) {
  try {
    return registry::Reference::ParseDockerRef(spec.ref);
  } catch (const Error& e) {
    throw Error(flag + " " + spec.spec + ": ref=" + spec.ref + ": " + e.what());
  }
}

}  // namespace

void SetCacheSpecs(const std::vector<std::string>& cache_to, const std::vector<std::string>& cache_from,
                   builder::BuildOptions& options) {
  for (const std::string& text : cache_to) {
    builder::CacheSpec spec = builder::ParseCacheExport(text);
    if (spec.type == builder::CacheType::kRegistry && !CheckedRef(spec, "--cache-to").digest().empty())
      throw Error("--cache-to " + text + ": ref= names a digest; a cache is exported to a tag");
    options.cache_to.push_back(spec);
  }
  for (const std::string& text : cache_from) {
    builder::CacheSpec spec = builder::ParseCacheImport(text);
    if (spec.type == builder::CacheType::kRegistry) CheckedRef(spec, "--cache-from");
    options.cache_from.push_back(spec);
  }
}

}  // namespace bld::cli
