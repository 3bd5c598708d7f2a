// The rule "never accept and ignore", applied to the flags the parser
// accepts: every flag of parser::AcceptedFlags (and every value of a flag
// that takes a closed set of them), every mount type and every option of
// parser::MountOptionSpecs is either carried out by the builder or refused
// with an error that names the file, the line and the flag. The lists below
// say which; tests/builder/flag_support_test.cc fails on anything the parser
// accepts that they do not list, and each entry has tests of its own.
//
// CheckFlagsSupported runs before every instruction is keyed, and
// CheckMountSupported on every --mount the builder plans: a refused flag
// fails the build at its line, and so would a flag or mount option the
// parser learned to accept without the builder being taught it.
//
// Thread-safety: constant tables; pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "parser/instructions.h"

namespace bld::builder {

struct BuildEnv;

struct FlagSupport {
  parser::Keyword keyword;
  std::string_view flag;
  std::string_view value;   // "" for every value
  std::string_view refusal; // "" when implemented; else why it is refused
};
const std::vector<FlagSupport>& SupportedFlags();

struct MountOptionSupport {
  std::string_view type;    // a mount type
  std::string_view key;     // "" for the type itself
  std::string_view value;   // "" for every value
};
const std::vector<MountOptionSupport>& SupportedMountOptions();

// Throws BuildError at the instruction for a refused flag or value, or one
// the lists above do not have.
void CheckFlagsSupported(const BuildEnv& env, const parser::Instruction& ins);

// Throws BuildError at the instruction for a mount type, option or option
// value of `mount` (parsed from `spec`) that SupportedMountOptions does not
// list.
void CheckMountSupported(const BuildEnv& env, const parser::Instruction& ins, const std::string& spec,
                         const parser::RunMount& mount);

}  // namespace bld::builder
