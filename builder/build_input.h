// What a build reads before anything runs: the build context and the
// Dockerfile's text, loaded once.
//
// The Dockerfile comes from -f FILE, from stdin (-f -), from inside a context
// tar read on stdin, or from <context>/Dockerfile. The cli loads the input
// first and hands it to Build, and shows the same text in error reports, so
// the Dockerfile is read exactly once.
//
// Thread-safety: a BuildInput is read-only once loaded.
#pragma once

#include <memory>
#include <string>

#include "builder/build_context.h"

namespace bld::builder {

struct BuildOptions;

struct BuildInput {
  std::unique_ptr<BuildContext> context;
  std::string dockerfile_text;
  std::string dockerfile_name;  // as error messages name it
};

// The text of the Dockerfile at `path` on the host. Throws bld::Error.
std::string ReadDockerfile(const std::string& path);

// Loads the context and the Dockerfile that `options` name; a context tar is
// unpacked under `scratch_dir`. Throws bld::Error.
BuildInput LoadBuildInput(const BuildOptions& options, const std::string& scratch_dir);

}  // namespace bld::builder
