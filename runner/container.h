// A container: a process tree in its own mount, PID, UTS and IPC namespaces
// (and network namespace with --network none), on an overlay root made of
// image snapshots, with the hardening Docker applies by default.
//
// Container::Start turns a ContainerSpec into a running container; a RUN step
// waits for it and turns its upper dir into a layer, and `bld run` will keep
// it running. The setup is a straight sequence, one function per step, in the
// order the kernel needs them (container.cc, ContainerInit):
//   namespaces -> private mounts -> overlay root, /proc, /dev, /sys, /etc
//   files -> loopback -> hostname -> pivot_root -> masked paths -> user
//   lookup -> working directory -> stdio -> bounding set, capabilities ->
//   uid/gid -> chdir -> exec
// and a failure at any step reaches the caller as an error naming the step,
// its object and errno ("runner: pivot_root into /x: Invalid argument"),
// carried from the container to bld over a close-on-exec pipe that closes
// empty when the exec succeeds.
//
// The command is PID 1 of its namespace, as in Docker: when it exits, the
// kernel kills everything else in the namespace (a `sleep 1000 &` it left
// behind), and Wait returns only after that has happened. bld's children
// are made with fork and then clone(CLONE_PARENT) from the forked process,
// because bld may have threads (zstd, parallel steps) and only a fork leaves
// a single-threaded copy in which the setup may allocate memory; with
// CLONE_PARENT the container is bld's own child, so bld gets its exit
// status, and a pidfd lets bld kill it without a PID-reuse race.
//
// The container's directory is <root>/containers/<id>/ (locked while the
// Container lives, see locked_dir.h):
//   upper/ work/     overlayfs upper and work dirs; upper/ is the diff
//   init/            the init layer (init_layer.h)
//   rootfs/          the mount point of the root (seen only inside)
//   hosts hostname resolv.conf   generated, bind-mounted (etc_files.h)
//
// Thread safety: a Container belongs to one thread at a time. Containers may
// be started from several threads at once.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "runner/locked_dir.h"
#include "runner/network.h"
#include "runner/output_lines.h"
#include "runner/system_call.h"

namespace bld::runner {

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
  // Absolute; created (root-owned, 0755) if missing, as Docker does for
  // RUN. Empty: "/".
  std::string workdir;
  // Empty: the first 12 hex digits of the container ID, as Docker names a
  // container's host.
  std::string hostname;
  NetworkMode network = NetworkMode::kHost;
};

struct ContainerSpec {
  std::vector<std::string> lowerdirs;  // snapshots, top first (Snapshotter::Prepare)
  RunConfig run;
};

struct ExitStatus {
  int code = 0;    // the exit code, when the process exited
  int signal = 0;  // the signal that killed it, or 0

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

  // Kills the container if it still runs, waits for it, and removes its
  // directory.
  ~Container();
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  const std::string& id() const { return dir_.name(); }
  std::string upper_dir() const { return dir_.path() + "/upper"; }

  // Passes the container's output (stdout and stderr, one stream, in the
  // order written) to `output` until its PID 1 has exited and everything
  // else in its PID namespace with it; returns how PID 1 ended. Throws
  // bld::Error if the setup inside failed (the exec included), and
  // Interrupted, after killing the container, if SIGINT or SIGTERM arrives
  // (an InterruptScope must be alive for that). Call once.
  ExitStatus Wait(OutputLines& output);

  // SIGKILL to PID 1, which takes the whole PID namespace with it.
  void Kill();

 private:
  explicit Container(LockedDir dir) : dir_(std::move(dir)) {}
  // Reaps PID 1 (blocking) and returns its wait status.
  int Reap();

  LockedDir dir_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd output_;       // read end of the stdout/stderr pipe
  UniqueFd setup_error_;  // read end of the setup error pipe
  bool reaped_ = false;
};

}  // namespace bld::runner
