#include "runner/container.h"
#include "runner/container_init.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>

#include "runner/bind_mounts.h"
#include "runner/capabilities.h"
#include "runner/device_cgroup.h"
#include "runner/etc_files.h"
#include "runner/init_layer.h"
#include "runner/interrupt.h"
#include "runner/lower_lookup.h"
#include "runner/mounts.h"
#include "runner/terminal.h"
#include "runner/user.h"

namespace bld::runner {

namespace {

// Docker names a container's host by the ID's short form.
constexpr size_t kShortIdLength = 12;
constexpr mode_t kContainerSubdirMode = 0755;
// Output is read in chunks of this size: one pipe buffer's worth.
constexpr size_t kOutputChunkSize = 64 * 1024;

// Every container's namespaces; network none adds CLONE_NEWNET.
constexpr int kNamespaceFlags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;

}  // namespace


namespace {

// ---- bld's side ------------------------------------------------------------

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe MakePipe(const char* what) {
  int fds[2];
  CheckSys(::pipe2(fds, O_CLOEXEC), std::string("create the ") + what + " pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void MakeSubdirectory(const std::string& path) {
  CheckSys(::mkdir(path.c_str(), kContainerSubdirMode), "create directory " + path);
  CheckSys(::chmod(path.c_str(), kContainerSubdirMode), "set the mode of " + path);
}

std::string SignalDescription(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return "signal " + std::to_string(signal) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

}  // namespace

ExitStatus ExitStatus::FromWait(int status) {
  if (WIFSIGNALED(status)) return ExitStatus{0, WTERMSIG(status)};
  return ExitStatus{WEXITSTATUS(status), 0};
}

std::string ExitStatus::Describe() const {
  return signal != 0 ? "killed by " + SignalDescription(signal) : "exit code " + std::to_string(code);
}

std::unique_ptr<Container> Container::Start(const std::string& containers_dir, const ContainerSpec& spec) {
  LockedDir dir = LockedDir::Create(containers_dir, "", kContainerIdBytes);
  std::string path = dir.path();
  std::string id = dir.name();
  return Launch(std::unique_ptr<Container>(new Container(std::move(dir), std::move(path), std::move(id))), spec);
}

std::unique_ptr<Container> Container::StartIn(const std::string& dir, const std::string& id,
                                              const ContainerSpec& spec) {
  return Launch(std::unique_ptr<Container>(new Container(std::nullopt, dir, id)), spec);
}

namespace {

// The RUN --mount targets, resolved in the image (a mount point made on the
// way the kernel follows, never over a symlink), parents before children.
std::vector<MountPlan> ResolveMountTargets(const ContainerSpec& spec) {
  std::vector<MountPlan> mounts = spec.mounts;
  for (MountPlan& mount : mounts) {
    std::string wanted = mount.target;
    mount.target = ResolveInLowers(spec.lowerdirs, wanted);
    if (mount.target == "/") throw Error("invalid mount target \"" + wanted + "\": a mount cannot replace the root");
  }
  std::stable_sort(mounts.begin(), mounts.end(), [](const MountPlan& a, const MountPlan& b) {
    return std::count(a.target.begin(), a.target.end(), '/') < std::count(b.target.begin(), b.target.end(), '/');
  });
  return mounts;
}

// What the command's container may do: its processes' capabilities,
// seccomp filter and limits, and what its mounts and devices are.
void PlanSecurity(const ContainerSpec& spec, InitPlan& plan) {
  const ContainerSecurity& security = spec.security;
  plan.security = ResolveProcessSecurity(security, spec.seccomp_cache_dir);
  plan.rootfs.writable_sysfs = security.privileged;
  plan.rootfs.mask_kernel_paths = !security.privileged && !security.unmask_system_paths;
  plan.rootfs.read_only = security.read_only_rootfs;
  for (const TmpfsSpec& tmpfs : security.tmpfs) plan.rootfs.tmpfs.push_back(TmpfsMountOf(tmpfs));
  plan.rootfs.devices = ContainerDevices(security);
}

// The root of a command's container: the init layer over the image, with
// the generated /etc files beside it.
void PlanCommandRoot(const std::string& dir, const ContainerSpec& spec, InitPlan& plan) {
  MakeSubdirectory(dir + "/init");
  WriteEtcFiles(dir, plan.hostname, spec.run.network == NetworkMode::kHost);
  plan.mounts = ResolveMountTargets(spec);
  std::vector<MountPoint> mount_points;
  for (const MountPlan& mount : plan.mounts) mount_points.push_back({mount.target, mount.directory});
  CreateInitLayer(dir + "/init", spec.lowerdirs, mount_points);
  plan.rootfs.overlay.lowerdirs.push_back(dir + "/init");
  plan.rootfs.overlay.lowerdirs.insert(plan.rootfs.overlay.lowerdirs.end(), spec.lowerdirs.begin(),
                                       spec.lowerdirs.end());
  plan.rootfs.etc_files_dir = dir;
}

// The root of a file step: the image's layers alone (an empty one for FROM
// scratch: overlayfs needs a lower layer), and the COPY --from source's.
void PlanFileStepRoot(const std::string& dir, const ContainerSpec& spec, InitPlan& plan) {
  plan.rootfs.overlay.lowerdirs = spec.lowerdirs;
  if (plan.rootfs.overlay.lowerdirs.empty()) {
    MakeSubdirectory(dir + "/empty");
    plan.rootfs.overlay.lowerdirs.push_back(dir + "/empty");
  }
  FileStepPlan& files = plan.files.emplace();
  files.plan = *spec.files;
  if (!spec.source_lowerdirs.empty()) {
    for (const char* sub : {"source-upper", "source-work", "source"}) MakeSubdirectory(dir + "/" + sub);
    files.source = OverlayLayers{spec.source_lowerdirs, dir + "/source-upper", dir + "/source-work"};
    files.source_root = dir + "/source";
  }
}

}  // namespace

std::unique_ptr<Container> Container::Launch(std::unique_ptr<Container> container, const ContainerSpec& spec) {
  const std::string& dir = container->path_;
  for (const char* sub : {"upper", "work", "rootfs"}) MakeSubdirectory(dir + "/" + sub);

  InitPlan plan;
  plan.run = spec.run;
  plan.hostname = spec.run.hostname.empty() ? container->id().substr(0, kShortIdLength) : spec.run.hostname;
  if (spec.files) {
    PlanFileStepRoot(dir, spec, plan);
  } else {
    PlanSecurity(spec, plan);
    PlanCommandRoot(dir, spec, plan);
  }
  plan.rootfs.overlay.upperdir = container->upper_dir();
  plan.rootfs.overlay.workdir = dir + "/work";
  plan.rootfs.rootfs = dir + "/rootfs";
  plan.join_network_fd = spec.join_network_fd;
  plan.binds = spec.binds;
  plan.stdio = spec.stdio;
  plan.cgroup_procs = spec.cgroup_procs;
  if (!spec.files) {
    std::vector<DeviceRule> rules = ContainerDeviceRules(spec.security, plan.rootfs.devices);
    if (!rules.empty()) container->device_cgroup_ = CreateDeviceCgroup(container->id(), rules);
    if (!container->device_cgroup_.empty()) plan.cgroup_procs.push_back(container->device_cgroup_ + "/cgroup.procs");
  }

  Pipe output = MakePipe("output");
  Pipe error = MakePipe("setup error");
  plan.output_fd = output.write.get();
  plan.error_fd = error.write.get();
  int flags = kNamespaceFlags | (spec.run.network == NetworkMode::kNone && !spec.files ? CLONE_NEWNET : 0);
  SpawnedInit init = SpawnInit(std::move(plan), flags);
  container->pid_ = init.pid;
  container->pidfd_ = std::move(init.pidfd);
  // Only the init holds the write ends now: they close when it execs the
  // command (or exits), which is how bld learns that.
  output.write.Reset();
  error.write.Reset();
  container->output_ = std::move(output.read);
  container->setup_error_ = std::move(error.read);
  return container;
}

Container::~Container() {
  if (pid_ > 0 && !reaped_) {
    Kill();
    try {
      Reap();
    } catch (const Error&) {
      // Nothing is left to do for a process that cannot be waited for.
    }
  }
  // A start that failed before its init ran leaves an empty cgroup.
  if (!reaped_ && !device_cgroup_.empty()) ::rmdir(device_cgroup_.c_str());
}

void Container::Kill() { Signal(SIGKILL); }

void Container::Signal(int signal) {
  if (pid_ <= 0 || reaped_) return;
  // Before reaping, the PID cannot be reused, so kill(2) is safe when there
  // is no pidfd yet.
  if (pidfd_) {
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0);
  } else {
    ::kill(pid_, signal);
  }
}

void Container::AwaitExec() {
  // The pipe's write end closes at the exec (close-on-exec) or when the
  // setup process exits after writing what failed.
  std::string message = ReadUntilClosed(setup_error_.get());
  setup_error_.Reset();
  if (!message.empty()) ThrowSetupError(message);
}

ExitStatus Container::WaitExit() {
  int status = Reap();
  return ExitStatus::FromWait(status);
}

int Container::Reap() {
  int status = WaitForPid(pid_);
  reaped_ = true;
  // PID 1 is reaped only after every other process of its namespace is
  // gone, so the cgroup is empty now.
  if (!device_cgroup_.empty()) ::rmdir(device_cgroup_.c_str());
  return status;
}

ExitStatus Container::Wait(OutputLines& output, int cancel_fd) {
  std::string setup_error;
  bool exited = false;
  int interrupted = 0;
  bool cancelled = false;
  char buffer[kOutputChunkSize];
  while (output_ || setup_error_ || !exited) {
    enum Source { kOutput, kSetupError, kExit, kInterrupt, kCancel };
    pollfd fds[5];
    Source sources[5];
    nfds_t count = 0;
    auto watch = [&](int fd, Source source) {
      fds[count] = {fd, POLLIN, 0};
      sources[count++] = source;
    };
    if (output_) watch(output_.get(), kOutput);
    if (setup_error_) watch(setup_error_.get(), kSetupError);
    if (!exited) watch(pidfd_.get(), kExit);
    if (!interrupted) watch(InterruptFd(), kInterrupt);
    if (cancel_fd >= 0 && !cancelled) watch(cancel_fd, kCancel);
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      throw RunnerSysError("wait for the container");
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      switch (sources[i]) {
        case kInterrupt:
          interrupted = InterruptSignal();
          Kill();
          break;
        case kCancel:
          cancelled = true;
          Kill();
          break;
        case kExit:
          exited = true;
          break;
        case kOutput:
        case kSetupError: {
          UniqueFd& fd = sources[i] == kOutput ? output_ : setup_error_;
          ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
          if (n < 0 && errno == EINTR) break;
          if (n <= 0) {
            fd.Reset();
          } else if (sources[i] == kOutput) {
            output.Append(std::string_view(buffer, static_cast<size_t>(n)));
          } else {
            setup_error.append(buffer, static_cast<size_t>(n));
          }
          break;
        }
      }
    }
  }
  int status = Reap();
  output.Finish();
  if (interrupted) throw Interrupted(interrupted);
  if (cancelled) throw Cancelled();
  if (!setup_error.empty()) ThrowSetupError(setup_error);
  return ExitStatus::FromWait(status);
}

}  // namespace bld::runner
