// Typed Dockerfile instructions: a syntax-tree node checked against what the
// instruction accepts (its flags, its argument count, its forms), with
// Docker's error messages.
//
// Flags are parsed as BuildKit's BFlags does (`--name=value`, bool flags
// bare or `=true|false`, repeatable flags collected in order). Values stay as
// written; expansion.h expands what Docker expands, at build time.
//
// Thread-safety: values; pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parser/parse_error.h"
#include "parser/run_mount.h"
#include "parser/syntax_tree.h"

namespace bld::parser {

enum class Keyword {
  kFrom, kRun, kCmd, kLabel, kMaintainer, kExpose, kEnv, kAdd, kCopy, kEntrypoint,
  kVolume, kUser, kWorkdir, kArg, kOnbuild, kStopsignal, kHealthcheck, kShell,
};

// "RUN", "COPY", ...
std::string_view KeywordName(Keyword k);

struct Instruction {
  Keyword keyword = Keyword::kRun;
  std::string original;            // the instruction text, continuations joined
  int line = 0;
  int end_line = 0;
  std::vector<std::string> flags;  // as written (quotes removed)
  std::vector<std::string> args;   // see syntax_tree.h; HEALTHCHECK's args[0] is "CMD" or "NONE"
  bool json_form = false;
  std::vector<Heredoc> heredocs;
  std::shared_ptr<const Instruction> onbuild;  // ONBUILD's trigger

  // Parsed flag values, by name without dashes. Bool flags hold "true" or
  // "false"; a repeatable flag holds one value per use.
  std::map<std::string, std::vector<std::string>> flag_values;

  bool HasFlag(std::string_view name) const { return flag_values.count(std::string(name)) > 0; }
  // The last value given for the flag, or "" when absent.
  std::string Flag(std::string_view name) const;
  const std::vector<std::string>& FlagValues(std::string_view name) const;
};

// The flags an instruction accepts, as the parser checks them: bool flags
// bare or `=true|false`, string flags once, repeatable flags collected in
// order. `values`, when not empty, is the closed set of values a string
// flag accepts. The builder handles every one of them (builder/
// flag_support.h), which tests/builder/flag_support_test.cc checks.
enum class FlagType { kBool, kString, kStrings };
struct FlagSpec {
  std::string_view name;
  FlagType type;
  std::vector<std::string_view> values;
};
const std::vector<FlagSpec>& AcceptedFlags(Keyword k);
// Every keyword, in the order of AllKeywords().
const std::vector<Keyword>& AllKeywordValues();

// Go's time.ParseDuration: "1m30s", "500ms", "1.5h". Nanoseconds, or nullopt
// when the text is not a duration.
std::optional<int64_t> ParseDuration(std::string_view text);

// Checks one node and types it. Throws ParseError naming the file and line.
Instruction ParseInstruction(Node node, const std::string& file);

// Every instruction keyword, upper case, for suggestions.
const std::vector<std::string>& AllKeywords();

}  // namespace bld::parser
