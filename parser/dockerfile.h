// A whole Dockerfile: its stages, the ARGs before the first FROM, and the
// dependency graph between stages, for one --target.
//
// This is the front end's output and the builder's input. It resolves what
// can be resolved without building: each FROM's base after expanding the
// global ARGs (with --build-arg overrides and the automatic platform args),
// stage names (case-insensitive), the edges `FROM <stage>`,
// `COPY --from=<stage|index>` and `RUN --mount=...,from=<stage>`, and which
// stages the target needs. Everything inside a stage is expanded at build
// time, with the stage's own variables (see StageScope in expansion.h).
//
// Thread-safety: values; pure functions.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parser/instructions.h"
#include "parser/shell_lexer.h"
#include "parser/syntax_tree.h"

namespace bld::parser {

struct ParseOptions {
  std::string file_name = "Dockerfile";  // for error locations
  std::string target;                    // --target; empty: the last stage
  std::map<std::string, std::string> build_args;
  std::string platform;  // --platform (the target platform); empty: the build platform
};

struct MetaArg {
  std::string name;
  std::optional<std::string> default_value;  // as written
  std::optional<std::string> value;          // after expansion and --build-arg; nullopt: unset
  int line = 0;
};

struct Stage {
  int index = 0;
  std::string name;       // lower case; empty for an unnamed stage
  std::string base;       // FROM's image after expansion, or a stage name
  std::optional<std::string> platform;  // FROM --platform after expansion
  int base_stage = -1;    // index of the stage FROM names, or -1 for an image
  int line = 0;
  Instruction from;       // the FROM instruction itself
  std::vector<Instruction> instructions;  // after FROM
  std::vector<int> depends_on;            // stages this one uses, ascending
  bool needed = false;                    // the target needs it
};

struct Dockerfile {
  Directives directives;
  std::vector<MetaArg> meta_args;
  std::vector<Stage> stages;
  std::vector<Warning> warnings;
  int target = -1;        // index of the target stage
  VarMap global_args;     // the variables FROM lines see (platform args + meta args)
  std::shared_ptr<const std::string> source;
};

// The platform that builds run on (the host): "linux/amd64" and the like.
std::string BuildPlatform();

// The predefined proxy ARGs Docker passes to RUN without an ARG instruction.
bool IsPredefinedProxyArg(std::string_view name);

// The automatic platform ARGs (TARGETPLATFORM, BUILDARCH, ...) and
// TARGETSTAGE for a build of `target_stage` to `platform` (empty: the build
// platform).
VarMap AutomaticArgs(const std::string& platform, const std::string& target_stage);

// Parses a Dockerfile. Throws ParseError.
Dockerfile ParseDockerfile(std::string_view text, const ParseOptions& options = {});

}  // namespace bld::parser
