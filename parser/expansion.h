// Variable expansion of instruction arguments, only where Docker expands.
//
// Docker expands ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER,
// VOLUME, WORKDIR and ARG values, plus the --chown, --chmod, --checksum and
// --platform flags; never the text of RUN, CMD, ENTRYPOINT, SHELL,
// HEALTHCHECK or MAINTAINER (a shell or the program sees those as written).
// EXPOSE splits an expansion into several words; the others expand each
// argument to exactly one word.
//
// StageScope tracks what ${VAR} sees while a stage's instructions are read
// in order: the base image's ENV, the stage's ENV, and the ARGs the stage has
// declared (a global ARG is visible only after the stage declares it again).
//
// Thread-safety: ExpandArgs is pure; a StageScope belongs to one thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "parser/instructions.h"
#include "parser/shell_lexer.h"

namespace bld::parser {

// The instruction's args after expansion (the layout of Instruction::args;
// for ARG, each `name=value` word with the value expanded). Instructions
// Docker does not expand come back unchanged. Throws ExpandError.
std::vector<std::string> ExpandArgs(const Instruction& ins, const VarMap& vars, char escape = '\\');

// A flag's value after expansion where Docker expands that flag (COPY/ADD
// --chown, --chmod, ADD --checksum, FROM --platform); otherwise as written.
std::string ExpandFlag(const Instruction& ins, std::string_view flag, const VarMap& vars, char escape = '\\');

class StageScope {
 public:
  // global_args: Dockerfile::global_args. build_args: --build-arg values.
  // image_env: the base image's ENV.
  StageScope(VarMap global_args, std::map<std::string, std::string> build_args, VarMap image_env,
             char escape = '\\');

  // Takes an ARG or ENV into scope (other instructions change nothing).
  // Throws ExpandError.
  void Apply(const Instruction& ins);

  // What ${VAR} sees: the ARGs in scope with ENV taking precedence.
  VarMap Vars() const;
  // ENV only: what goes into the image config.
  const VarMap& env() const { return env_; }
  // Declared ARGs that have a value: what RUN sees beside ENV.
  const VarMap& args() const { return args_; }

 private:
  VarMap global_args_;
  std::map<std::string, std::string> build_args_;
  VarMap env_;
  VarMap args_;
  char escape_;
};

}  // namespace bld::parser
