// The runner's API for the builder: one RUN step, from image layers to the
// layer the step adds.
//
//   RunStep(store, {layers, run config, layer options}, on_line)
//     -> {exit status, last output lines, layer or none}
//
// It unpacks the layers that are not yet snapshots (snapshotter.h), prepares
// the step's mounts (run_mounts.h: cache leases are held, and ssh relays
// run, until the step ends), runs the command in a throwaway container on
// them (container.h), streams its output line by line, and, if the command
// succeeded, turns what it changed into a layer: its diffID is computed and
// the upper dir becomes the layer's snapshot, so the next step starts at
// once; the layer's blob is written later, from the snapshot, if an image
// needs it (upper_dir_layer.h). Whatever happens (success, failed command,
// setup error, exception, Ctrl-C) the container is dead and its directory
// removed when RunStep returns or throws.
//
// A failing command is a result, not an exception: the builder shows the
// command, status.Describe() and output_tail ("exit code 1" and the last
// lines), as Docker does. Exceptions are for failures of the runner itself
// (a missing blob, a setup step inside the container, with Docker's wording
// for an unknown USER) and Interrupted for SIGINT/SIGTERM, on which the cli
// exits with Interrupted::exit_code() (130 for Ctrl-C).
//
// Thread safety: RunStep may be called from several threads at once, on one
// store or several, and by several processes on one store.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "runner/container.h"
#include "runner/output_lines.h"
#include "runner/run_mounts.h"
#include "runner/snapshotter.h"
#include "store/layer_writer.h"
#include "store/store.h"

namespace bld::runner {

struct StepSpec {
  std::vector<LayerRef> layers;  // the image's layers, base first
  RunConfig run;
  // RUN --mount: mounted for the command, never part of its layer.
  std::vector<StepMount> mounts;
  store::LayerWriteOptions layer_options;  // its time clamp shapes the diff
  // Docker's sandbox unless changed (bld build --security-opt, RUN
  // --security=insecure).
  ContainerSecurity security;
  // Output lines kept for the error report of a failing step.
  size_t output_tail_lines = 10;
  // Readable once the step should stop: RunStep then kills the container,
  // cleans up as for an interrupt and throws Cancelled. -1: never.
  int cancel_fd = -1;
};

struct StepResult {
  ExitStatus status;
  std::vector<std::string> output_tail;  // the last output lines, oldest first
  // The layer the step added: only when it succeeded and changed files. It
  // names the uncompressed tar (digest == diff_id), kept as a snapshot.
  std::optional<store::LayerInfo> layer;
  // When the process ended (before the layer was made); the epoch when it
  // did not run.
  std::chrono::steady_clock::time_point exited;
};

// Runs one step. `on_line` (may be empty) receives each line of output as
// it comes.
StepResult RunStep(store::Store& store, const StepSpec& spec, const OutputLines::LineCallback& on_line);

// Removes what runner processes that died left in the store: container
// directories and unfinished unpacks under snapshots/ that no live process
// holds (for `bld prune`). Returns the removed paths.
std::vector<std::string> RemoveAbandonedRunnerDirs(store::Store& store);

}  // namespace bld::runner
