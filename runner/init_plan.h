// Everything a container's init needs to set the container up, as one value
// that crosses an exec: bld prepares it, writes it (as CBOR) into a memfd, and
// the init (container_init.h), a fresh copy of bld, reads it back.
//
// Descriptors in an InitPlan are the numbers the init sees them as: bld
// hands each one over at a fixed number (FdHandover) before the exec.
//
// Thread-safety: values; pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/container.h"
#include "runner/file_plan.h"
#include "runner/mounts.h"
#include "runner/run_mount_plan.h"

namespace bld::runner {

// A file step's payload: instead of a command, a plan carried out on a bare
// root (the overlay alone: no /proc, /dev, /sys or /etc files, so that what
// is written lands in the image as it is).
struct FileStepPlan {
  FilePlan plan;
  // COPY --from: the source image's overlay (top first) and where to mount
  // it; it is only read, through a throwaway upper dir.
  std::optional<OverlayLayers> source;
  std::string source_root;
};

struct InitPlan {
  RootfsPlan rootfs;
  RunConfig run;
  ProcessSecurity security;
  std::string hostname;
  int join_network_fd = -1;
  std::vector<BindMount> binds;
  std::optional<StdioFds> stdio;
  std::vector<std::string> cgroup_procs;
  std::optional<FileStepPlan> files;  // set: a file step, `run` unused
  std::vector<MountPlan> mounts;      // RUN --mount (run_mount_plan.h)
  int output_fd = -1;  // where stdout and stderr go without `stdio`
  int error_fd = -1;   // the setup error pipe
};

std::string SerializeInitPlan(const InitPlan& plan);
// Throws bld::Error for a plan this bld did not write.
InitPlan ParseInitPlan(std::string_view bytes);

}  // namespace bld::runner
