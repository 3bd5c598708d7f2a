// COPY, ADD and WORKDIR: changes to an image's files made without running
// anything in it (the image may have no shell: FROM scratch).
//
// COPY/ADD are planned before their key is known: PlanSources resolves the
// sources (the context, after .dockerignore; or the --from stage or image),
// hashes them for the key and makes the FilePlan that ExecuteCopy carries
// out on a miss, so what is copied is exactly what was hashed. WORKDIR sets
// the config's working directory and, unless it is "/", creates it owned
// by the current USER, which may add a layer, as BuildKit does.
//
// Thread-safety: as step_executor.h.
#pragma once

#include <string>
#include <vector>

#include "builder/step_executor.h"

namespace bld::builder {

CopySources PlanSources(BuildEnv& env, const parser::Stage& stage, const parser::Instruction& ins,
                        const std::vector<std::string>& args, const parser::VarMap& vars, const ImageState& state);

StepOutcome ExecuteCopy(BuildEnv& env, const Step& step, ImageState& state);
StepOutcome ExecuteWorkdir(BuildEnv& env, const Step& step, ImageState& state);

}  // namespace bld::builder
