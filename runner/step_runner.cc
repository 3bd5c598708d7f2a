#include "runner/step_runner.h"

#include <filesystem>
#include <set>

#include "runner/container_state.h"
#include "runner/device_cgroup.h"
#include "runner/interrupt.h"
#include "runner/locked_dir.h"
#include "runner/seccomp_cache.h"
#include "runner/upper_dir_layer.h"

namespace bld::runner {

StepResult RunStep(store::Store& store, const StepSpec& spec, const OutputLines::LineCallback& on_line) {
  InterruptScope interrupt_scope;
  ThrowIfInterrupted();
  ContainerSpec container_spec;
  container_spec.lowerdirs = Snapshotter(store).Prepare(spec.layers);
  container_spec.run = spec.run;
  // The container's directory is made here, so that the mounts' own
  // directories live and go with it; declared in this order, the container
  // ends first, then the mounts (leases, relays), then the directory.
  LockedDir dir = LockedDir::Create(store.containers_dir(), "", kContainerIdBytes);
  PreparedMounts mounts = PreparedMounts::Prepare(store, dir.path(), spec.mounts);
  container_spec.mounts = mounts.plans();
  container_spec.security = spec.security;
  container_spec.seccomp_cache_dir = SeccompCacheDir(store);

  std::unique_ptr<Container> container = Container::StartIn(dir.path(), dir.name(), container_spec);
  OutputLines output(on_line, spec.output_tail_lines);
  StepResult result;
  result.status = container->Wait(output, spec.cancel_fd);
  result.exited = std::chrono::steady_clock::now();
  result.output_tail = output.Tail();
  if (result.status.ok())
    result.layer = PromoteUpperDir(store, spec.layers, container->upper_dir(), spec.layer_options);
  // A signal that came after the container ended was held back by the
  // scope; the build must stop all the same.
  ThrowIfInterrupted();
  return result;
}

std::vector<std::string> RemoveAbandonedRunnerDirs(store::Store& store) {
  // A `bld run` container keeps its directory after it ends, unlocked, until
  // `bld rm`: each directory without a record is tried on its own (a full
  // name is a prefix of that name only).
  std::set<std::string> kept;
  for (const ContainerRecord& record : ListRecords(store)) kept.insert(record.id);
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(store.containers_dir(), ec)) {
    std::string name = entry.path().filename().string();
    if (kept.count(name)) continue;
    std::vector<std::string> gone = RemoveAbandonedDirs(store.containers_dir(), name);
    // A runner killed with SIGKILL also left the step's device cgroup.
    if (!gone.empty()) RemoveDeviceCgroup(name);
    removed.insert(removed.end(), gone.begin(), gone.end());
  }
  std::vector<std::string> unpacks = Snapshotter(store).RemoveAbandonedUnpacks();
  removed.insert(removed.end(), unpacks.begin(), unpacks.end());
  return removed;
}

}  // namespace bld::runner
