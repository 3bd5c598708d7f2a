// `bld cache ls|rm|prune`: the directories of RUN --mount=type=cache
// (runner/cache_mounts.h), kept in the store across builds.
//
//   $ bld cache ls
//   ID                INSTANCES   SIZE      IN USE
//   /var/cache/apt    1           48.2MB    no
//
// `bld prune --cache` prunes them with the rest of the store.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/table_format.h"
#include "runner/cache_mounts.h"
#include "store/error.h"

namespace bld::cli {

namespace {

// Sizes with 3 significant digits, as `bld images` shows them; the total
// with 4, as prune's.
constexpr int kSizePrecision = 3;
constexpr int kTotalSizePrecision = 4;

int RunList(const CommandContext& ctx, bool quiet) {
  auto store = OpenStore(ctx);
  Table table({"ID", "INSTANCES", "SIZE", "IN USE"});
  for (const runner::CacheMountInfo& cache : runner::CacheMounts(*store).List()) {
    if (quiet) {
      std::printf("%s\n", cache.id.c_str());
    } else {
      table.AddRow({cache.id, std::to_string(cache.instances), HumanSize(cache.size, kSizePrecision),
                    cache.in_use ? "yes" : "no"});
    }
  }
  if (!quiet) std::fputs(table.Render().c_str(), stdout);
  return 0;
}

int RunRemove(const CommandContext& ctx, const std::vector<std::string>& ids) {
  auto store = OpenStore(ctx);
  runner::CacheMounts caches(*store);
  int status = 0;
  for (const std::string& id : ids) {
    try {
      caches.Remove(id);
      std::printf("%s\n", id.c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "Error: %s\n", e.what());
      status = 1;
    }
  }
  return status;
}

}  // namespace

void PrintCachePrune(store::Store& store) {
  uint64_t reclaimed = 0;
  std::vector<runner::CacheMountInfo> removed = runner::CacheMounts(store).Prune();
  if (!removed.empty()) {
    std::printf("Deleted cache mounts:\n");
    for (const runner::CacheMountInfo& cache : removed) {
      std::printf("%s\n", cache.id.c_str());
      reclaimed += cache.size;
    }
    std::printf("\n");
  }
  std::printf("Total reclaimed space: %s\n", HumanSize(reclaimed, kTotalSizePrecision).c_str());
}

void AddCacheCommands(CLI::App& app, CommandContext& ctx) {
  auto* cache = app.add_subcommand("cache", "Manage the directories of RUN --mount=type=cache");
  cache->require_subcommand(1);
  {
    auto quiet = std::make_shared<bool>(false);
    auto* cmd = cache->add_subcommand("ls", "List cache mounts");
    cmd->add_flag("-q,--quiet", *quiet, "Only display ids");
    cmd->callback([&ctx, quiet] { RunCommand(ctx, [&ctx, quiet] { return RunList(ctx, *quiet); }); });
  }
  {
    auto ids = std::make_shared<std::vector<std::string>>();
    auto* cmd = cache->add_subcommand("rm", "Remove cache mounts by id");
    cmd->add_option("id", *ids, "Cache id (the mount's id, or its target)")->required();
    cmd->callback([&ctx, ids] { RunCommand(ctx, [&ctx, ids] { return RunRemove(ctx, *ids); }); });
  }
  {
    auto* cmd = cache->add_subcommand("prune", "Remove every cache mount no running build uses");
    cmd->callback([&ctx] {
      RunCommand(ctx, [&ctx] {
        auto store = OpenStore(ctx);
        PrintCachePrune(*store);
        return 0;
      });
    });
  }
}

}  // namespace bld::cli
