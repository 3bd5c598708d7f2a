// `bld build --cache-to SPEC` / `--cache-from SPEC`: the specs parsed
// (builder/cache_spec.h) and their references checked before the build
// starts, so that a bad spec never costs a build. The builder carries them
// out (builder/cache_exchange.h).
//
// Thread-safety: one thread.
#pragma once

#include <string>
#include <vector>

#include "builder/builder.h"

namespace bld::cli {

// Sets options.cache_to and options.cache_from from the flags' values;
// throws bld::Error quoting the spec that is wrong.
void SetCacheSpecs(const std::vector<std::string>& cache_to, const std::vector<std::string>& cache_from,
                   builder::BuildOptions& options);

}  // namespace bld::cli
