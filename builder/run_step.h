// RUN: the command in a container on the image, its changes as a layer.
//
// The command: the exec form as written; the shell form through SHELL (or
// /bin/sh -c); a RUN whose whole command is one heredoc runs the heredoc as
// a script, through its #! interpreter when it has one; other heredocs are
// handed to the shell after the command, which reads them as
// here-documents. The environment: the image's ENV, then the build args the
// step sees (VisibleBuildArgs), then the predefined proxy args passed with
// --build-arg. A failing command is a BuildError with the command, its exit
// status and the last lines of its output, as Docker reports it.
//
// What the command may do: the build's `--security-opt` choices over
// Docker's sandbox; with RUN --security=insecure, which needs the build's
// `--allow security.insecure` (BuildKit's entitlement), a privileged
// container (runner/container_security.h). --security=sandbox is the
// default.
//
// Thread-safety: as step_executor.h.
#pragma once

#include <string>
#include <vector>

#include "builder/step_executor.h"

namespace bld::builder {

// The build args a RUN sees (and whose values are part of its key): the
// ARGs in scope, unless an ENV of the same name hides them.
parser::VarMap VisibleBuildArgs(const parser::StageScope& scope);

// The argv the RUN executes.
std::vector<std::string> RunArgv(const parser::Instruction& ins, const store::ContainerConfig& config);

StepOutcome ExecuteRun(BuildEnv& env, const Step& step, ImageState& state);

// Refuses, before anything runs, a RUN --security=insecure in a needed stage
// of a build without `--allow security.insecure`: a BuildError at its line.
void CheckRunEntitlements(const parser::Dockerfile& dockerfile, const std::string& dockerfile_name,
                          const BuildOptions& options);

}  // namespace bld::builder
