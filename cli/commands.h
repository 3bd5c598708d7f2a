// The subcommands of bld. Each Add*Command registers one CLI11 subcommand
// whose callback does the work and leaves its exit status in ctx.exit_code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace bld::cli {

struct CommandContext {
  int exit_code = 0;
  std::string root;  // --root; empty: BLD_ROOT or /var/lib/bld
};

// Runs body, turning bld's exceptions into a message on stderr and exit 1.
void RunCommand(CommandContext& ctx, const std::function<int()>& body);

// Opens the store at --root, $BLD_ROOT or /var/lib/bld.
std::unique_ptr<store::Store> OpenStore(const CommandContext& ctx);

void AddVersionCommand(CLI::App& app, CommandContext& ctx);
void AddParseCommand(CLI::App& app, CommandContext& ctx);
void AddBuildCommand(CLI::App& app, CommandContext& ctx);

}  // namespace bld::cli
