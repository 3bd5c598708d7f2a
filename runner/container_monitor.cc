#include "runner/container_monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>

#include "runner/cgroups.h"
#include "runner/container_lifecycle.h"
#include "runner/container_log.h"
#include "runner/container_state.h"
#include "runner/network.h"
#include "runner/port_forwarder.h"
#include "runner/seccomp_cache.h"
#include "runner/terminal.h"
#include "store/image.h"

namespace bld::runner {

namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr int kSignalExitBase = 128;
// What `docker run` returns when the container could not be started.
constexpr int kStartFailedExitCode = 125;
// Signals the monitor passes on to PID 1 (SIGWINCH resizes the terminal).
constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe MakePipe() {
  int fds[2];
  CheckSys(::pipe2(fds, O_CLOEXEC), "create a pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string Now() { return store::FormatTimestamp(std::chrono::system_clock::now()); }

// Writes to bld's own stdout or stderr; a reader that went away (a closed
// pipe) must not stop the container, so failures are dropped.
void Show(int fd, const char* data, size_t size) {
  while (fd >= 0 && size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// The blocked signals, readable as a descriptor.
UniqueFd BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : kForwardedSignals) sigaddset(&set, signal);
  sigaddset(&set, SIGWINCH);
  sigaddset(&set, SIGPIPE);
  CheckSys(::pthread_sigmask(SIG_BLOCK, &set, nullptr), "block signals");
  sigdelset(&set, SIGPIPE);
  UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!fd) throw RunnerSysError("create a signalfd");
  return fd;
}

ContainerSpec SpecOf(const store::Store& store, const ContainerRecord& record, UniqueFd& join_netns) {
  ContainerSpec spec;
  spec.lowerdirs = record.lowerdirs;
  spec.run = record.run;
  spec.security = record.security;
  spec.seccomp_cache_dir = SeccompCacheDir(store);
  for (const MountRecord& mount : record.mounts)
    spec.binds.push_back({mount.source, mount.destination, mount.read_only, mount.type == "volume"});
  if (record.run.network == NetworkMode::kJoin) {
    std::string other = record.network.substr(std::string_view("container:").size());
    ContainerRecord target = LiveState(store, FindContainer(store, other));
    UniqueFd process = OpenContainerProcess(target);
    if (target.status != ContainerStatus::kRunning || !process)
      throw StartError("cannot join network of a non running container: " + target.id, kStartFailedExitCode);
    join_netns = OpenNetworkNamespace(target.pid);
    spec.join_network_fd = join_netns.get();
  }
  for (const std::string& dir : record.cgroups) spec.cgroup_procs.push_back(dir + "/cgroup.procs");
  return spec;
}

}  // namespace

int ExitCodeOf(const ExitStatus& status) { return status.signal != 0 ? kSignalExitBase + status.signal : status.code; }

ExitStatus MonitorContainer(store::Store& store, const std::string& id, UniqueFd lock, const MonitorIo& io,
                            const std::function<void()>& on_started) {
  std::optional<ContainerRecord> found = GetRecord(store, id);
  if (!found) throw Error("No such container: " + id);
  ContainerRecord record = std::move(*found);
  const std::string dir = ContainerDir(store, id);
  UniqueFd signals = BlockSignals();

  // Everything that can fail on the host before the start, then the start.
  std::unique_ptr<Container> container;
  std::optional<PortForwarder> forwarder;
  UniqueFd pty_master;
  UniqueFd console, console_child;
  Pipe out, err, in;
  UniqueFd null_in;
  try {
    record.cgroups = CreateCgroups(id, record.resources);
    UniqueFd join_netns;
    ContainerSpec spec = SpecOf(store, record, join_netns);
    forwarder.emplace(record.ports);
    StdioFds stdio;
    if (record.tty) {
      int pair[2];
      CheckSys(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), "create the console socket");
      console = UniqueFd(pair[0]);
      console_child = UniqueFd(pair[1]);
      stdio.console_socket = console_child.get();
    } else {
      out = MakePipe();
      err = MakePipe();
      if (record.open_stdin) {
        in = MakePipe();
      } else {
        null_in = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!null_in) throw RunnerSysError("open /dev/null");
      }
      stdio = {record.open_stdin ? in.read.get() : null_in.get(), out.write.get(), err.write.get(), -1};
    }
    spec.stdio = stdio;
    container = Container::StartIn(dir, id, spec);
    console_child.Reset();
    if (console) pty_master = ReceiveFd(console.get());
    out.write.Reset();
    err.write.Reset();
    in.read.Reset();
    null_in.Reset();
    container->AwaitExec();
    if (record.tty && !pty_master) throw StartError("runner: the container sent no terminal", kStartFailedExitCode);
    if (pty_master && io.in >= 0) CopyWindowSize(io.in, pty_master.get());
  } catch (const Error& e) {
    const auto* start_error = dynamic_cast<const StartError*>(&e);
    record.status = ContainerStatus::kExited;
    record.exit_code = start_error ? start_error->exit_code() : kStartFailedExitCode;
    record.error = e.what();
    record.finished_at = Now();
    container.reset();
    RemoveCgroups(record.cgroups);
    PutRecord(store, record);
    lock.Reset();
    if (record.auto_remove) RemoveContainer(store, record, true, true);
    if (start_error) throw;
    throw StartError(e.what(), record.exit_code);
  }

  record.status = ContainerStatus::kRunning;
  record.pid = container->pid();
  record.pid_start_time = ProcessStartTime(container->pid());
  record.monitor_pid = ::getpid();
  record.started_at = Now();
  PutRecord(store, record);
  if (!record.ports.empty()) {
    // A command that ended at once took its namespace with it; there is
    // nothing to forward to then.
    UniqueFd netns(::open(("/proc/" + std::to_string(container->pid()) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
    if (netns) forwarder->Start(std::move(netns));
  }
  on_started();

  LogWriter log(dir + "/log");
  // The descriptors the command writes to, and where each goes.
  struct Source {
    UniqueFd* fd;
    LogStream stream;
    int shown;
  };
  std::vector<Source> sources;
  if (pty_master) {
    sources.push_back({&pty_master, LogStream::kStdout, io.out});
  } else {
    sources.push_back({&out.read, LogStream::kStdout, io.out});
    sources.push_back({&err.read, LogStream::kStderr, io.err});
  }
  // Where bld's stdin goes: the pty, or the stdin pipe (closed at EOF).
  int stdin_target = pty_master ? pty_master.get() : in.write.get();
  bool reading_stdin = record.open_stdin && io.in >= 0;
  bool exited = false;
  char buffer[kChunk];
  auto any_source = [&] {
    for (const Source& s : sources)
      if (*s.fd) return true;
    return false;
  };
  while (!exited || any_source()) {
    std::vector<pollfd> fds;
    std::vector<int> kinds;  // -1 exit, -2 stdin, -3 signal, else the source index
    if (!exited) {
      fds.push_back({container->pidfd(), POLLIN, 0});
      kinds.push_back(-1);
    }
    if (reading_stdin && !exited) {
      fds.push_back({io.in, POLLIN, 0});
      kinds.push_back(-2);
    }
    fds.push_back({signals.get(), POLLIN, 0});
    kinds.push_back(-3);
    for (size_t i = 0; i < sources.size(); ++i) {
      if (!*sources[i].fd) continue;
      fds.push_back({sources[i].fd->get(), POLLIN, 0});
      kinds.push_back(static_cast<int>(i));
    }
    // Once PID 1 is gone, the pty master may never report EOF to poll if
    // something outside holds the slave; the remaining output is read without
    // waiting.
    if (::poll(fds.data(), fds.size(), exited ? 0 : -1) < 0) {
      if (errno == EINTR) continue;
      throw RunnerSysError("wait for the container");
    }
    bool idle = true;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      idle = false;
      int kind = kinds[k];
      if (kind == -1) {
        exited = true;
      } else if (kind == -2) {
        ssize_t n = ::read(io.in, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          reading_stdin = false;
          if (!pty_master) in.write.Reset();
        } else {
          Show(stdin_target, buffer, static_cast<size_t>(n));
        }
      } else if (kind == -3) {
        signalfd_siginfo info;
        if (::read(signals.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
        if (info.ssi_signo == SIGWINCH) {
          if (pty_master && io.in >= 0) CopyWindowSize(io.in, pty_master.get());
        } else {
          container->Signal(static_cast<int>(info.ssi_signo));
        }
      } else {
        Source& source = sources[static_cast<size_t>(kind)];
        ssize_t n = ::read(source.fd->get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          source.fd->Reset();  // EOF, or EIO from a pty whose slave closed
        } else {
          log.Append(source.stream, std::string_view(buffer, static_cast<size_t>(n)));
          Show(source.shown, buffer, static_cast<size_t>(n));
        }
      }
    }
    if (exited && idle) break;
  }
  ExitStatus status = container->WaitExit();
  log.Flush();
  forwarder.reset();
  container.reset();
  RemoveCgroups(record.cgroups);

  record.status = ContainerStatus::kExited;
  record.exit_code = ExitCodeOf(status);
  record.pid = 0;
  record.finished_at = Now();
  PutRecord(store, record);
  lock.Reset();
  if (record.auto_remove) RemoveContainer(store, record, true, true);
  return status;
}

}  // namespace bld::runner
