// Fuzzes the whole Dockerfile front end: any input must either parse or
// raise ParseError, never crash, hang, leak or trip a sanitizer. Each
// instruction of a parsed file is also expanded the way the builder does, so
// the shell-word lexer sees fuzzed words with fuzzed variables in scope.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parser/dockerfile.h"
#include "parser/expansion.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bld::parser;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    ParseOptions options;
    options.build_args = {{"A", "x y"}, {"EMPTY", ""}};
    Dockerfile df = ParseDockerfile(text, options);
    for (const Stage& stage : df.stages) {
      StageScope scope(df.global_args, options.build_args, {{"PATH", "/bin"}}, df.directives.escape);
      for (const Instruction& ins : stage.instructions) {
        try {
          scope.Apply(ins);
          ExpandArgs(ins, scope.Vars(), df.directives.escape);
          for (const auto& [name, values] : ins.flag_values) ExpandFlag(ins, name, scope.Vars(), df.directives.escape);
        } catch (const ExpandError&) {
        }
      }
    }
  } catch (const ParseError&) {
  }
  return 0;
}
