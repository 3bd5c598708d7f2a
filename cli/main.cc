// bld: one daemonless binary for the whole image lifecycle. This file wires
// the subcommands; each command's flags and output live in its own file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "runner/container_init.h"

int main(int argc, char** argv) {
  // A container bld starts is bld again, as its init (never returns then).
  bld::runner::RunContainerInitIfRequested(argc, argv);
  CLI::App app{"bld: build, store, push, pull and run container images from Dockerfiles", "bld"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bld version ") + BLD_VERSION);

  bld::cli::CommandContext ctx;
  app.add_option("--root", ctx.root, "Store root (default: $BLD_ROOT or /var/lib/bld)");
  bld::cli::AddVersionCommand(app, ctx);
  bld::cli::AddParseCommand(app, ctx);
  bld::cli::AddBuildCommand(app, ctx);
  bld::cli::AddLoginCommand(app, ctx);
  bld::cli::AddLogoutCommand(app, ctx);
  bld::cli::AddPullCommand(app, ctx);
  bld::cli::AddPushCommand(app, ctx);
  bld::cli::AddImagesCommand(app, ctx);
  bld::cli::AddTagCommand(app, ctx);
  bld::cli::AddRmiCommand(app, ctx);
  bld::cli::AddInspectCommand(app, ctx);
  bld::cli::AddHistoryCommand(app, ctx);
  bld::cli::AddImportCommand(app, ctx);
  bld::cli::AddSaveCommand(app, ctx);
  bld::cli::AddLoadCommand(app, ctx);
  bld::cli::AddPruneCommand(app, ctx);
  bld::cli::AddCheckCommand(app, ctx);
  bld::cli::AddContainerCommands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return ctx.exit_code;
}
