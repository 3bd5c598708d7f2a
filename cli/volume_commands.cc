// `bld volume ls|create|rm|inspect`, with docker's output.
//
//   $ bld volume ls
//   DRIVER    VOLUME NAME
//   local     data
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/container_commands.h"
#include "cli/table_format.h"
#include "runner/volume_store.h"
#include "store/error.h"

namespace bld::cli {

namespace {

nlohmann::ordered_json VolumeJson(const runner::VolumeRecord& v) {
  return {{"CreatedAt", v.created},
          {"Driver", "local"},
          {"Labels", nlohmann::ordered_json::object()},
          {"Mountpoint", v.mountpoint},
          {"Name", v.name},
          {"Options", nlohmann::ordered_json::object()},
          {"Scope", "local"}};
}

int ListVolumes(store::Store& store, bool quiet) {
  Table table({"DRIVER", "VOLUME NAME"});
  for (const runner::VolumeRecord& v : runner::ListVolumes(store)) {
    if (quiet) {
      std::printf("%s\n", v.name.c_str());
    } else {
      table.AddRow({"local", v.name});
    }
  }
  if (!quiet) std::fputs(table.Render().c_str(), stdout);
  return 0;
}

int RemoveVolumes(store::Store& store, const std::vector<std::string>& names) {
  int code = 0;
  for (const std::string& name : names) {
    try {
      runner::RemoveVolume(store, name);
      std::printf("%s\n", name.c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "Error: %s\n", e.what());
      code = 1;
    }
  }
  return code;
}

int InspectVolumes(store::Store& store, const std::vector<std::string>& names) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  int code = 0;
  for (const std::string& name : names) {
    if (std::optional<runner::VolumeRecord> v = runner::GetVolume(store, name)) {
      out.push_back(VolumeJson(*v));
    } else {
      std::fprintf(stderr, "Error: get %s: no such volume\n", name.c_str());
      code = 1;
    }
  }
  std::printf("%s\n", out.dump(4).c_str());
  return code;
}

// `bld volume <name> VOLUME...`: `run` gets the store and the names.
void AddNamesCommand(CLI::App& volume, CommandContext& ctx, const std::string& name, const std::string& help,
                     int (*run)(store::Store&, const std::vector<std::string>&)) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = volume.add_subcommand(name, help);
  cmd->add_option("volumes", *names, "Volume names")->required();
  cmd->callback([&ctx, names, run] { RunCommand(ctx, [&ctx, names, run] { return run(*OpenStore(ctx), *names); }); });
}

}  // namespace

void AddVolumeCommands(CLI::App& app, CommandContext& ctx) {
  auto* volume = app.add_subcommand("volume", "Manage volumes");
  volume->require_subcommand(1);
  auto quiet = std::make_shared<bool>(false);
  auto* ls = volume->add_subcommand("ls", "List volumes");
  ls->add_flag("-q,--quiet", *quiet, "Only display volume names");
  ls->callback([&ctx, quiet] { RunCommand(ctx, [&ctx, quiet] { return ListVolumes(*OpenStore(ctx), *quiet); }); });
  auto name = std::make_shared<std::string>();
  auto* create = volume->add_subcommand("create", "Create a volume");
  create->add_option("name", *name, "Volume name (default: a random one)");
  create->callback([&ctx, name] {
    RunCommand(ctx, [&ctx, name] {
      std::printf("%s\n", runner::CreateVolume(*OpenStore(ctx), *name).name.c_str());
      return 0;
    });
  });
  AddNamesCommand(*volume, ctx, "rm", "Remove one or more volumes", RemoveVolumes);
  AddNamesCommand(*volume, ctx, "inspect", "Display detailed information on one or more volumes", InspectVolumes);
}

}  // namespace bld::cli
