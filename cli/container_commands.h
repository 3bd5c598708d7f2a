// The container commands (run, ps, exec, stop, kill, rm, logs, commit and
// the monitor `bld run -d` starts) and the volume commands, registered by
// AddContainerCommands; and a container's `bld inspect` document, which
// `bld inspect` falls back to for a name that is not an image, as docker's.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "store/store.h"

namespace bld::cli {

void AddVolumeCommands(CLI::App& app, CommandContext& ctx);

// The container `name_or_id` as docker inspect shows one; nullopt when there
// is no such container.
std::optional<nlohmann::ordered_json> InspectContainer(const store::Store& store, const std::string& name_or_id);

}  // namespace bld::cli
