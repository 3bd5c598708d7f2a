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
#include "store/exit_codes.h"
#include "store/timestamp.h"

namespace bld::runner {

namespace {

constexpr size_t kChunk = 64 * 1024;
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
      throw StartError("cannot join network of a non running container: " + target.id, exit_code::kSetupFailed);
    join_netns = OpenNetworkNamespace(target.pid);
    spec.join_network_fd = join_netns.get();
  }
  for (const std::string& dir : record.cgroups) spec.cgroup_procs.push_back(dir + "/cgroup.procs");
  return spec;
}

// A started container and the monitor's ends of its stdio.
struct Running {
  std::unique_ptr<Container> container;
  std::optional<PortForwarder> forwarder;
  UniqueFd pty_master;  // with -t
  Pipe out, err, in;    // without -t; `in` only with -i
};

// Everything that can fail on the host before the start (cgroups, the
// network to join, the published ports, stdio), then the start. Throws what
// failed; the caller records it.
std::unique_ptr<Running> Start(store::Store& store, ContainerRecord& record, const std::string& id,
                               const MonitorIo& io) {
  auto running = std::make_unique<Running>();
  Running& r = *running;
  record.cgroups = CreateCgroups(id, record.resources);
  UniqueFd join_netns;
  ContainerSpec spec = SpecOf(store, record, join_netns);
  r.forwarder.emplace(record.ports);
  UniqueFd console, console_child, null_in;
  StdioFds stdio;
  if (record.tty) {
    ConsoleSocket socket = MakeConsoleSocket();
    console = std::move(socket.ours);
    console_child = std::move(socket.child);
    stdio.console_socket = console_child.get();
  } else {
    r.out = MakePipe();
    r.err = MakePipe();
    if (record.open_stdin) {
      r.in = MakePipe();
    } else {
      null_in = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!null_in) throw RunnerSysError("open /dev/null");
    }
    stdio = {record.open_stdin ? r.in.read.get() : null_in.get(), r.out.write.get(), r.err.write.get(), -1};
  }
  spec.stdio = stdio;
  r.container = Container::StartIn(ContainerDir(store, id), id, spec);
  // The child holds its ends now; without ours closed, EOF would never come.
  console_child.Reset();
  if (console) r.pty_master = ReceiveFd(console.get());
  r.out.write.Reset();
  r.err.write.Reset();
  r.in.read.Reset();
  r.container->AwaitExec();
  if (record.tty && !r.pty_master) throw StartError("runner: the container sent no terminal", exit_code::kSetupFailed);
  if (r.pty_master && io.in >= 0) CopyWindowSize(io.in, r.pty_master.get());
  return running;
}

// Called from the handler of what Start threw: records the container as
// exited with the error, releases it, and throws the StartError to report.
[[noreturn]] void FailStart(store::Store& store, ContainerRecord& record, UniqueFd& lock, const Error& e) {
  const auto* start_error = dynamic_cast<const StartError*>(&e);
  record.status = ContainerStatus::kExited;
  record.exit_code = start_error ? start_error->exit_code() : exit_code::kSetupFailed;
  record.error = e.what();
  record.finished_at = Now();
  RemoveCgroups(record.cgroups);
  PutRecord(store, record);
  lock.Reset();
  if (record.auto_remove) RemoveContainer(store, record, true, true);
  if (start_error) throw;
  throw StartError(e.what(), record.exit_code);
}

void RecordRunning(store::Store& store, ContainerRecord& record, Running& r) {
  record.status = ContainerStatus::kRunning;
  record.pid = r.container->pid();
  record.pid_start_time = ProcessStartTime(r.container->pid());
  record.monitor_pid = ::getpid();
  record.started_at = Now();
  PutRecord(store, record);
  if (record.ports.empty()) return;
  // A command that ended at once took its namespace with it; there is
  // nothing to forward to then.
  UniqueFd netns(::open(("/proc/" + std::to_string(r.container->pid()) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
  if (netns) r.forwarder->Start(std::move(netns));
}

// Moves bytes while the container runs: its output to the log (and to bld's
// stdout and stderr in the foreground), bld's stdin to it, and the signals
// bld receives on to PID 1; then drains what output is left.
class Relay {
 public:
  Relay(Running& r, const MonitorIo& io, bool open_stdin, int signals, LogWriter& log)
      : r_(r), io_(io), signals_(signals), log_(log), reading_stdin_(open_stdin && io.in >= 0) {
    if (r.pty_master) {
      sources_.push_back({&r.pty_master, LogStream::kStdout, io.out});
    } else {
      sources_.push_back({&r.out.read, LogStream::kStdout, io.out});
      sources_.push_back({&r.err.read, LogStream::kStderr, io.err});
    }
    // Where bld's stdin goes: the pty, or the stdin pipe (closed at EOF).
    stdin_target_ = r.pty_master ? r.pty_master.get() : r.in.write.get();
  }

  void Run() {
    while (!exited_ || AnySource()) {
      std::vector<pollfd> fds;
      std::vector<int> kinds;
      Watch(fds, kinds);
      // Once PID 1 is gone, the pty master may never report EOF to poll if
      // something outside holds the slave; the remaining output is read
      // without waiting.
      if (::poll(fds.data(), fds.size(), exited_ ? 0 : -1) < 0) {
        if (errno == EINTR) continue;
        throw RunnerSysError("wait for the container");
      }
      bool idle = true;
      for (size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        idle = false;
        Handle(kinds[k]);
      }
      if (exited_ && idle) break;
    }
  }

 private:
  // The descriptors the command writes to, and where each goes.
  struct Source {
    UniqueFd* fd;
    LogStream stream;
    int shown;
  };
  // What a polled descriptor is: these, or the index of a source.
  static constexpr int kExit = -1;
  static constexpr int kStdin = -2;
  static constexpr int kSignal = -3;

  bool AnySource() const {
    for (const Source& s : sources_)
      if (*s.fd) return true;
    return false;
  }

  void Watch(std::vector<pollfd>& fds, std::vector<int>& kinds) const {
    auto watch = [&](int fd, int kind) {
      fds.push_back({fd, POLLIN, 0});
      kinds.push_back(kind);
    };
    if (!exited_) watch(r_.container->pidfd(), kExit);
    if (reading_stdin_ && !exited_) watch(io_.in, kStdin);
    watch(signals_, kSignal);
    for (size_t i = 0; i < sources_.size(); ++i)
      if (*sources_[i].fd) watch(sources_[i].fd->get(), static_cast<int>(i));
  }

  void Handle(int kind) {
    if (kind == kExit) {
      exited_ = true;
    } else if (kind == kStdin) {
      ForwardStdin();
    } else if (kind == kSignal) {
      ForwardSignal();
    } else {
      Drain(sources_[static_cast<size_t>(kind)]);
    }
  }

  void ForwardStdin() {
    ssize_t n = ::read(io_.in, buffer_, sizeof buffer_);
    if (n < 0 && errno == EINTR) return;
    if (n > 0) {
      Show(stdin_target_, buffer_, static_cast<size_t>(n));
      return;
    }
    reading_stdin_ = false;
    if (!r_.pty_master) r_.in.write.Reset();
  }

  void ForwardSignal() {
    signalfd_siginfo info;
    if (::read(signals_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return;
    if (info.ssi_signo != SIGWINCH) {
      r_.container->Signal(static_cast<int>(info.ssi_signo));
    } else if (r_.pty_master && io_.in >= 0) {
      CopyWindowSize(io_.in, r_.pty_master.get());
    }
  }

  void Drain(Source& source) {
    ssize_t n = ::read(source.fd->get(), buffer_, sizeof buffer_);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
      source.fd->Reset();  // EOF, or EIO from a pty whose slave closed
      return;
    }
    log_.Append(source.stream, std::string_view(buffer_, static_cast<size_t>(n)));
    Show(source.shown, buffer_, static_cast<size_t>(n));
  }

  Running& r_;
  const MonitorIo& io_;
  int signals_;
  LogWriter& log_;
  std::vector<Source> sources_;
  int stdin_target_ = -1;
  bool reading_stdin_;
  bool exited_ = false;
  char buffer_[kChunk];
};

}  // namespace

int ExitCodeOf(const ExitStatus& status) { return status.signal != 0 ? exit_code::ForSignal(status.signal) : status.code; }

ExitStatus MonitorContainer(store::Store& store, const std::string& id, UniqueFd lock, const MonitorIo& io,
                            const std::function<void()>& on_started) {
  std::optional<ContainerRecord> found = GetRecord(store, id);
  if (!found) throw Error("No such container: " + id);
  ContainerRecord record = std::move(*found);
  UniqueFd signals = BlockSignals();
  std::unique_ptr<Running> running;
  try {
    running = Start(store, record, id, io);
  } catch (const Error& e) {
    FailStart(store, record, lock, e);
  }
  RecordRunning(store, record, *running);
  on_started();

  LogWriter log(ContainerDir(store, id) + "/log");
  Relay(*running, io, record.open_stdin, signals.get(), log).Run();
  ExitStatus status = running->container->WaitExit();
  log.Flush();
  running->forwarder.reset();
  running->container.reset();
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
