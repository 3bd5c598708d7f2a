#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "cli/error_report.h"
#include "parser/parse_error.h"
#include "store/error.h"

namespace bld::cli {

void RunCommand(CommandContext& ctx, const std::function<int()>& body) {
  try {
    ctx.exit_code = body();
  } catch (const parser::ParseError& e) {
    PrintParseError(e);
    ctx.exit_code = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "Error: %s\n", e.what());
    ctx.exit_code = 1;
  }
}

std::unique_ptr<store::Store> OpenStore(const CommandContext& ctx) {
  return store::Store::Open(store::Store::ResolveRoot(ctx.root));
}

void AddVersionCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("version", "Show the bld version");
  cmd->callback([&ctx] {
    RunCommand(ctx, [] {
      std::printf("bld version %s\n", BLD_VERSION);
      return 0;
    });
  });
}

}  // namespace bld::cli
