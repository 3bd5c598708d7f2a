// RUN --mount in the builder: from the instruction's --mount flags to the
// runner's StepMounts (runner/run_mounts.h), the part of the step's cache
// key they make, and the environment they add.
//
// Each spec is expanded with the build variables the RUN sees (BuildKit
// expands every value but `from`) and checked again (parser/run_mount.h);
// a relative or empty target is joined to WORKDIR, and a target that is
// then "/" is an error. Sources:
//   bind   from a stage (any name or index the Dockerfile gives), an image,
//          or the build context (no `from`), whose files are seen as COPY
//          sees them (.dockerignore applied). What is bound is part of the
//          key: the context part hashed as COPY hashes it, a stage or image
//          by its key.
//   cache  keyed by id; a new cache is filled from `from`'s `source` when
//          given; never part of the key (its content may differ each time).
//   secret the value from `bld build --secret`; missing and `required`:
//          an error naming the line; missing and not required: not mounted.
//          Never part of the key, the history or any output. `env` puts the
//          value in the step's environment (and, without a target, only
//          there).
//   ssh    the agent socket of `bld build --ssh`; the first ssh mount's
//          target is the step's SSH_AUTH_SOCK, as in BuildKit.
// Secrets and agents are looked up only when the step runs (ProvideSecrets):
// a build whose secret steps all hit the cache needs none of them.
//
// Thread-safety: as step_executor.h.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "parser/dockerfile.h"
#include "parser/expansion.h"
#include "runner/run_mounts.h"

namespace bld::builder {

struct BuildEnv;
struct ImageState;

struct PlannedMounts {
  std::vector<runner::StepMount> mounts;
  std::vector<parser::RunMount> specs;        // parallel to mounts, expanded
  std::map<std::string, std::string> hashes;  // what enters the key: mount -> hash of what it binds
};

PlannedMounts PlanRunMounts(BuildEnv& env, const parser::Stage& stage, const parser::Instruction& ins,
                            const parser::VarMap& vars, const ImageState& state);

// Fills in the secrets and agent sockets of `planned` (dropping optional
// ones that were not given) and returns what the step's environment gains
// ("KEY=value"). Throws BuildError for a required one that is missing.
std::vector<std::string> ProvideSecrets(const BuildEnv& env, const parser::Instruction& ins, PlannedMounts& planned);

}  // namespace bld::builder
