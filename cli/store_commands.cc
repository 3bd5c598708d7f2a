// `bld prune` and `bld check`: the store's upkeep.
//
//   $ bld prune                                  $ bld check
//   Deleted blobs:                               store is consistent: 14 blobs,
//   sha256:8a1f0c6e...                           3 refs, 31 records checked
//
//   Total reclaimed space: 2.134MB
//
// prune removes what no ref and no build cache record reaches (see
// store/garbage_collector.h), the snapshots no named image uses, and what
// dead processes left behind, with the builder's and the runner's
// GcParticipants telling the store what they keep, and with --cache the
// cache mounts no build uses (cache_commands.cc); check lists every broken
// invariant and exits 1 if there is one.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/store_lock.h"
#include "cli/table_format.h"
#include "builder/build_cache.h"
#include "runner/gc_participant.h"
#include "store/error.h"
#include "store/garbage_collector.h"
#include "store/store_check.h"

namespace bld::cli {

namespace {

// The total is shown with 4 significant digits, as docker's prune shows it.
constexpr int kTotalSizePrecision = 4;

void PrintSection(const char* title, const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  std::printf("%s\n", title);
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  std::printf("\n");
}

int RunPrune(const CommandContext& ctx, bool caches) {
  auto store = OpenStore(ctx);
  store::GcLock lock = LockStoreExclusive(*store);
  // What the store's users keep: the build cache its layers, the runner its
  // containers' images, snapshots and scratch directories.
  builder::BuildCacheGcParticipant build_cache;
  runner::RunnerGcParticipant runner;
  store::PruneReport report = store::Prune(*store, lock, {&build_cache, &runner});

  std::vector<std::string> blobs, snapshots, leftovers;
  for (const store::BlobInfo& b : report.blobs) blobs.push_back(b.digest.str());
  for (const store::Digest& s : report.snapshots) snapshots.push_back(s.str());
  for (const store::IngestFile& f : report.ingest_leftovers) leftovers.push_back(f.path);
  leftovers.insert(leftovers.end(), report.leftovers.begin(), report.leftovers.end());
  PrintSection("Deleted blobs:", blobs);
  PrintSection("Deleted snapshots:", snapshots);
  PrintSection("Removed leftovers of interrupted commands:", leftovers);
  std::printf("Total reclaimed space: %s\n", HumanSize(report.reclaimed_bytes(), kTotalSizePrecision).c_str());
  if (caches) PrintCachePrune(*store);
  return 0;
}

int RunCheck(const CommandContext& ctx) {
  auto store = OpenStore(ctx);
  store::GcLock lock = LockStoreToCheck(*store);
  store::CheckReport report = store::CheckStore(*store);
  for (const std::string& problem : report.problems) std::printf("%s\n", problem.c_str());
  if (!report.ingest_leftovers.empty())
    std::printf("note: %zu unfinished writes of commands that died are in ingest/; bld prune removes them\n",
                report.ingest_leftovers.size());
  std::string counts = std::to_string(report.blobs) + " blobs, " + std::to_string(report.refs) + " refs, " +
                       std::to_string(report.records) + " records checked";
  if (report.problems.empty()) {
    std::printf("store is consistent: %s\n", counts.c_str());
    return 0;
  }
  std::printf("%zu problem%s found: %s\n", report.problems.size(), report.problems.size() == 1 ? "" : "s",
              counts.c_str());
  return 1;
}

}  // namespace

void AddPruneCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("prune", "Remove blobs, snapshots and leftovers that no image or cache entry uses");
  auto caches = std::make_shared<bool>(false);
  cmd->add_flag("--cache", *caches, "Also remove every RUN --mount=type=cache directory no running build uses");
  cmd->callback([&ctx, caches] { RunCommand(ctx, [&ctx, caches] { return RunPrune(ctx, *caches); }); });
}

void AddCheckCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("check", "Verify every blob, ref and record of the store");
  cmd->callback([&ctx] { RunCommand(ctx, [&ctx] { return RunCheck(ctx); }); });
}

}  // namespace bld::cli
