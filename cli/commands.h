// The subcommands of bld. Each Add*Command registers one CLI11 subcommand
// whose callback does the work and leaves its exit status in ctx.exit_code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <cstdio>
#include <string>
#include <vector>

#include "registry/session.h"
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

// Registry options from --insecure-registry, with bld's User-Agent.
registry::RegistryOptions RegistryOptionsFrom(const std::vector<std::string>& insecure);

// Pushes the image `name` names, reporting on `out` as `docker push` does
// (only the name when `quiet`).
void PushImage(store::Store& store, const std::string& name, const std::vector<std::string>& insecure, bool quiet,
               FILE* out);

void AddVersionCommand(CLI::App& app, CommandContext& ctx);
void AddParseCommand(CLI::App& app, CommandContext& ctx);
void AddBuildCommand(CLI::App& app, CommandContext& ctx);
void AddLoginCommand(CLI::App& app, CommandContext& ctx);
void AddLogoutCommand(CLI::App& app, CommandContext& ctx);
void AddPullCommand(CLI::App& app, CommandContext& ctx);
void AddPushCommand(CLI::App& app, CommandContext& ctx);
void AddImagesCommand(CLI::App& app, CommandContext& ctx);
void AddTagCommand(CLI::App& app, CommandContext& ctx);
void AddRmiCommand(CLI::App& app, CommandContext& ctx);
void AddInspectCommand(CLI::App& app, CommandContext& ctx);
void AddHistoryCommand(CLI::App& app, CommandContext& ctx);
void AddImportCommand(CLI::App& app, CommandContext& ctx);
void AddSaveCommand(CLI::App& app, CommandContext& ctx);
void AddLoadCommand(CLI::App& app, CommandContext& ctx);
void AddPruneCommand(CLI::App& app, CommandContext& ctx);
void AddCheckCommand(CLI::App& app, CommandContext& ctx);
void AddContainerCommands(CLI::App& app, CommandContext& ctx);
void AddCacheCommands(CLI::App& app, CommandContext& ctx);

// Removes every cache mount no build uses and prints what it removed, as
// `bld cache prune` and `bld prune --cache` report it.
void PrintCachePrune(store::Store& store);

}  // namespace bld::cli
