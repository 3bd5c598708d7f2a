// A container: a process tree in its own mount, PID, UTS and IPC namespaces
// (and a network namespace of its own, or another container's), on an
// overlay root made of image snapshots, with the hardening Docker applies by
// default.
//
// Container::Start turns a ContainerSpec into a running container; a RUN step
// waits for it and turns its upper dir into a layer. Container::StartIn does
// the same in a directory the caller owns and keeps: `bld run`'s monitor
// (container_monitor.h) keeps the container running and its directory after
// it ends. The setup is a straight sequence, one function per step, in the
// order the kernel needs them (container_init.cc, CommandInit):
//   cgroups -> namespaces (joining a network namespace) -> private mounts ->
//   overlay root, /proc, /dev, /sys, /etc files -> loopback -> hostname ->
//   RUN --mount sources opened -> pivot_root -> volumes, binds and tmpfs
//   mounts -> RUN --mount targets -> masked paths -> working directory ->
//   read-only root (--read-only) -> stdio (a controlling terminal with -t)
//   -> user lookup -> rlimits -> bounding set -> seccomp filter -> groups,
//   gid, uid -> capabilities -> chdir -> no_new_privs -> exec
// (the seccomp filter comes after the capabilities when no_new_privs is
// set; seccomp_filter.h says why)
// and a failure at any step reaches the caller as an error naming the step,
// its object and errno ("runner: pivot_root into /x: Invalid argument"),
// carried from the container to bld over a close-on-exec pipe that closes
// empty when the exec succeeds.
//
// The command is PID 1 of its namespace, as in Docker: when it exits, the
// kernel kills everything else in the namespace (a `sleep 1000 &` it left
// behind), and Wait returns only after that has happened. The setup runs in
// a fresh execution of bld (container_init.h): bld clones straight into the
// new namespaces, so the container is bld's own child and bld gets its exit
// status, and a pidfd lets bld kill it without a PID-reuse race.
//
// What the container may do (capabilities, seccomp, devices, ...) is its
// ContainerSecurity (container_security.h): Docker's sandbox unless the
// spec says otherwise.
//
// A file step (file_step.h) uses the same entry point with a FilePlan
// instead of a command: its root is the image's layers alone, without the
// init layer and the /proc, /dev, /sys and /etc mounts, so that what the
// plan writes lands in the image as it is.
//
// The container's directory is <root>/containers/<id>/ (locked while the
// Container lives, see locked_dir.h; StartIn's caller holds that lock):
//   upper/ work/     overlayfs upper and work dirs; upper/ is the diff
//   init/            the init layer (init_layer.h)
//   rootfs/          the mount point of the root (seen only inside)
//   hosts hostname resolv.conf   generated, bind-mounted (etc_files.h)
//   mounts/<n>/      what RUN --mount n needs on the host (run_mounts.h)
//
// Thread safety: a Container belongs to one thread at a time. Containers may
// be started from several threads at once.
#pragma once

#include <sys/types.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/container_security.h"
#include "runner/file_plan.h"
#include "runner/locked_dir.h"
#include "runner/network.h"
#include "runner/output_lines.h"
#include "runner/run_mount_plan.h"
#include "runner/system_call.h"

namespace bld::runner {

// 256 bits, as Docker's container IDs: 64 hex digits.
inline constexpr size_t kContainerIdBytes = 32;

// Docker's PATH for images whose config sets none.
inline constexpr std::string_view kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What runs in a container and how.
struct RunConfig {
  // Exec'd as it is, looked up in the container's PATH when it has no '/'.
  // A shell-form RUN is the caller's {"/bin/sh", "-c", command} (or SHELL).
  std::vector<std::string> argv;
  // "KEY=value". PATH is kDefaultPath when absent, HOME the user's home
  // directory from the image's passwd when absent.
  std::vector<std::string> env;
  // name|uid[:group|gid], resolved in the image (user.h); empty: root.
  std::string user;
  // More supplementary groups (`--group-add`): names from the image's
  // /etc/group, or gids.
  std::vector<std::string> group_add;
  // Absolute; created (root-owned, 0755) if missing, as Docker does for
  // RUN. Empty: "/".
  std::string workdir;
  // Empty: the first 12 hex digits of the container ID, as Docker names a
  // container's host.
  std::string hostname;
  NetworkMode network = NetworkMode::kHost;
};

// A host directory mounted into the container: a volume's _data or a host
// path (`-v /host:/ctr`).
struct BindMount {
  std::string source;  // absolute host path, an existing directory or file
  std::string target;  // absolute path in the container, created if missing
  bool read_only = false;
  // Fill `source`, when it is an empty directory, with what the image has at
  // `target` (owners, modes and times kept), as Docker fills a new volume.
  bool copy_up = false;
};

// The command's stdin, stdout and stderr when the caller provides them (bld
// run: pipes to the monitor, or a terminal). Without them a container reads
// /dev/null and writes stdout and stderr into one pipe that Wait reads.
struct StdioFds {
  int in = -1;
  int out = -1;
  int err = -1;
  // Instead of in, out and err: a pseudo-terminal made inside the container
  // (terminal.h) is the command's stdio and controlling terminal, and its
  // master is sent over this unix socket (ReceiveFd).
  int console_socket = -1;
};

struct ContainerSpec {
  std::vector<std::string> lowerdirs;  // snapshots, top first (Snapshotter::Prepare)
  RunConfig run;
  // With NetworkMode::kJoin: the namespace to join (OpenNetworkNamespace).
  int join_network_fd = -1;
  std::vector<BindMount> binds;
  std::optional<StdioFds> stdio;
  // cgroup.procs files the process adds itself to before anything else
  // (cgroups.h), so that everything it starts is limited too.
  std::vector<std::string> cgroup_procs;
  // Instead of running `run`: a file step carries out this plan (`run` and
  // the network are unused) on the bare root.
  std::optional<FilePlan> files;
  // The file step's COPY --from source image, top first.
  std::vector<std::string> source_lowerdirs;
  // A RUN step's --mount mounts (run_mounts.h); their targets are resolved
  // in the image here, and get their mount points in the init layer.
  std::vector<MountPlan> mounts;
  // What the command may do; unused by file steps, which run bld's own code.
  ContainerSecurity security;
  // Where compiled seccomp filters are kept across processes
  // (SeccompCacheDir); empty: compiled in this process.
  std::string seccomp_cache_dir;
};

// The container could not start its command. exit_code() is what `docker
// run` returns for it: 127 when the command is not found, 126 when it cannot
// be executed, 125 when the setup failed before.
class StartError : public Error {
 public:
  StartError(std::string message, int exit_code) : Error(std::move(message)), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

struct ExitStatus {
  int code = 0;    // the exit code, when the process exited
  int signal = 0;  // the signal that killed it, or 0

  // What a waitpid(2) status says.
  static ExitStatus FromWait(int status);

  bool ok() const { return signal == 0 && code == 0; }
  // "exit code 2", "killed by signal 9 (SIGKILL)".
  std::string Describe() const;
};

class Container {
 public:
  // Creates the container's directory under `containers_dir`, with its init
  // layer and generated files, and starts spec.run in a new container.
  // Throws if any of it cannot be made on the host side; failures of the
  // setup inside the container are thrown by Wait.
  static std::unique_ptr<Container> Start(const std::string& containers_dir, const ContainerSpec& spec);

  // Starts spec.run in a new container in `dir` (an existing directory
  // named `id`, which the caller created, locks and keeps: the destructor
  // does not remove it), empty but for the caller's mounts/.
  static std::unique_ptr<Container> StartIn(const std::string& dir, const std::string& id, const ContainerSpec& spec);

  // Kills the container if it still runs, waits for it, and removes its
  // directory if Start made it.
  ~Container();
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  const std::string& id() const { return id_; }
  std::string upper_dir() const { return path_ + "/upper"; }
  // PID 1 of the container, as the host sees it, and a pidfd of it.
  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }

  // Returns once the command was exec'd; throws StartError with what failed
  // in the setup otherwise. Wait needs no call to this first.
  void AwaitExec();

  // Waits (without reading output: with StdioFds there is none to read) for
  // PID 1 to end and returns how it ended. Call once, instead of Wait.
  ExitStatus WaitExit();

  // Sends `signal` to PID 1.
  void Signal(int signal);

  // Passes the container's output (stdout and stderr, one stream, in the
  // order written) to `output` until its PID 1 has exited and everything
  // else in its PID namespace with it; returns how PID 1 ended. Throws
  // bld::Error if the setup inside failed (the exec included), and
  // Interrupted, after killing the container, if SIGINT or SIGTERM arrives
  // (an InterruptScope must be alive for that). When `cancel_fd` (if not
  // -1) becomes readable, the container is killed the same way and
  // Cancelled is thrown: a build stops the RUN steps of its other stages
  // at its first failure. Call once.
  ExitStatus Wait(OutputLines& output, int cancel_fd = -1);

  // SIGKILL to PID 1, which takes the whole PID namespace with it.
  void Kill();

 private:
  Container(std::optional<LockedDir> owned_dir, std::string path, std::string id)
      : owned_dir_(std::move(owned_dir)), path_(std::move(path)), id_(std::move(id)) {}
  static std::unique_ptr<Container> Launch(std::unique_ptr<Container> container, const ContainerSpec& spec);
  // Reaps PID 1 (blocking) and returns its wait status.
  int Reap();

  std::optional<LockedDir> owned_dir_;  // set when Start made the directory
  std::string device_cgroup_;           // removed once PID 1 is reaped
  std::string path_;
  std::string id_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd output_;       // read end of the stdout/stderr pipe
  UniqueFd setup_error_;  // read end of the setup error pipe
  bool reaped_ = false;
};

}  // namespace bld::runner
