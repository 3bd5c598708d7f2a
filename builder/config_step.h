// The effect of each Dockerfile instruction on the image config, and the
// history entry Docker writes for it.
//
// Metadata instructions (ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME,
// STOPSIGNAL, HEALTHCHECK, SHELL, CMD, ENTRYPOINT, ONBUILD, MAINTAINER, ARG)
// change only the config; file-changing ones (RUN, COPY, ADD) change nothing
// here but still get their `created_by` from CreatedBy. The strings follow
// BuildKit's so that `bld history` reads like `docker history`.
//
// Thread-safety: pure functions over the values passed in.
#pragma once

#include <string>
#include <vector>

#include "parser/instructions.h"
#include "parser/shell_lexer.h"
#include "store/oci.h"

namespace bld::builder {

// What a stage remembers between instructions beyond the config itself.
struct StageState {
  bool cmd_set = false;  // CMD appeared in this stage (ENTRYPOINT then keeps it)
};

// Applies a metadata instruction with its expanded args (parser::ExpandArgs)
// to `image`. Instructions that change files are ignored. Throws bld::Error
// for values Docker refuses at build time (a bad port, signal or duration).
void ApplyToConfig(const parser::Instruction& ins, const std::vector<std::string>& args, store::ImageConfig& image,
                   StageState& state);

// The argv a shell-form RUN, CMD or ENTRYPOINT runs: SHELL (or /bin/sh -c)
// followed by the command text; the exec form as written.
std::vector<std::string> CommandArgv(const parser::Instruction& ins, const store::ContainerConfig& config);

// The history entry's created_by. run_args: the ARGs a RUN sees (they are
// listed as `|N K=V ...`, as BuildKit does); ignored for other instructions.
std::string CreatedBy(const parser::Instruction& ins, const std::vector<std::string>& args,
                      const store::ContainerConfig& config, const parser::VarMap& run_args);

// Joins a relative WORKDIR onto the current one and cleans the path.
std::string ResolveWorkdir(const std::string& current, const std::string& dir);

// "KEY=value" lookups in a config's Env list.
std::string EnvValue(const std::vector<std::string>& env, const std::string& key, bool* found = nullptr);
void SetEnv(std::vector<std::string>& env, const std::string& key, const std::string& value);

}  // namespace bld::builder
