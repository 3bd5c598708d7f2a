// Compiled seccomp filters kept across bld processes, in <root>/seccomp/.
//
// libseccomp takes 8 to 18 ms to compile Docker's profile for the three x86
// architectures (measured on the project's machines, 2026-12), which every
// `bld run`, `bld exec` and build process paid once: about a tenth of a
// whole `bld run --rm busybox true`. The program depends only on the filter
// plan (seccomp_profile.h: the profile's rules after the container's
// capabilities, the host's architecture and kernel) and on the libseccomp
// that compiles it, so it is kept in a file named by a hash of both, and a
// later process with the same plan loads it instead of compiling.
//
// A file is the sha256 (64 hex digits) of the rest, the program's flags (4
// bytes, host order) and its instructions, written to a temporary name
// and renamed into place, so a reader sees a whole file or none; a file
// whose hash does not match (a torn disk write, a damaged disk) is compiled
// again and replaced, never loaded. The directory is a cache: any file in
// it may be removed at any time.
//
// Thread safety: the functions may be called from any thread and process at
// once: two that compile the same plan both write, and either rename wins.
#pragma once

#include <string>

#include "runner/seccomp_filter.h"
#include "runner/seccomp_profile.h"

namespace bld::store {
class Store;
}

namespace bld::runner {

// <root>/seccomp.
std::string SeccompCacheDir(const store::Store& store);

// The program for `plan`: from `cache_dir` when it holds it, else compiled
// and written there. An empty `cache_dir` compiles without a cache; a cache
// that cannot be written (a read-only store) compiles as well.
SeccompProgram CompileSeccompFilterCached(const SeccompFilterPlan& plan, const std::string& cache_dir);

// The file name of `plan`'s program in the cache: the hash of the plan, the
// libseccomp version and the cache's format.
std::string SeccompCacheKey(const SeccompFilterPlan& plan);

}  // namespace bld::runner
