#include "runner/container.h"

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

#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>

#include "runner/bind_mounts.h"
#include "runner/capabilities.h"
#include "runner/etc_files.h"
#include "runner/init_layer.h"
#include "runner/interrupt.h"
#include "runner/mounts.h"
#include "runner/terminal.h"
#include "runner/user.h"

namespace bld::runner {

namespace {

// 256 bits, as Docker's container IDs: 64 hex digits.
constexpr size_t kContainerIdBytes = 32;
// Docker names a container's host by the ID's short form.
constexpr size_t kShortIdLength = 12;
constexpr mode_t kContainerSubdirMode = 0755;
// Docker's umask for container processes; bld's own (perhaps 077) must not
// decide the modes of files a RUN step creates.
constexpr mode_t kContainerUmask = 022;
constexpr mode_t kWorkdirMode = 0755;
// The exit code of a setup that failed (its message is on the error pipe):
// 125 is what `docker run` returns when the container could not be started,
// 126 when the command cannot be executed, 127 when it is not found.
constexpr int kSetupFailedExitCode = 125;
constexpr int kCannotExecuteExitCode = 126;
constexpr int kNotFoundExitCode = 127;
// The setup error message starts with its exit code and this separator.
constexpr char kExitCodeSeparator = ':';
// Output is read in chunks of this size: one pipe buffer's worth.
constexpr size_t kOutputChunkSize = 64 * 1024;

// Every container's namespaces; network none adds CLONE_NEWNET.
constexpr int kNamespaceFlags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;

// Everything the setup inside the container needs, prepared by bld before
// the fork so that the child only executes steps.
struct InitPlan {
  RootfsPlan rootfs;
  RunConfig run;
  std::string hostname;
  int join_network_fd = -1;
  std::vector<BindMount> binds;
  std::optional<StdioFds> stdio;
  std::vector<std::string> cgroup_procs;
  int output_fd;       // write end of the output pipe
  int error_fd;        // write end of the setup error pipe
  int output_read_fd;  // bld's ends, closed in the container
  int error_read_fd;
};

// An exec that failed, with the exit code `docker run` gives for it.
class ExecFailure : public Error {
 public:
  ExecFailure(const Error& error, int exit_code) : Error(error.what()), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// ---- The setup inside the container, in order -----------------------------

// bld's handlers (the interrupt handler, a SIG_IGN for SIGPIPE) and blocked
// signals are inherited through fork, and ignored and blocked signals even
// through exec: the command must start with the defaults, as it would in
// Docker.
void ResetSignals() {
  // SIGKILL, SIGSTOP and glibc's internal signals refuse; that is fine.
  for (int signal = 1; signal < NSIG; ++signal) ::signal(signal, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  CheckSys(::sigprocmask(SIG_SETMASK, &none, nullptr), "reset the signal mask");
}

// The container must not outlive bld: if bld dies (kill -9 included), the
// kernel sends SIGKILL to PID 1, which takes the namespace with it. The
// death signal is cleared by a uid change, so it is set again before exec.
// If bld died before the signal was armed, its end of the error pipe is
// closed, which poll reports as POLLERR on ours.
void DieWithParent(int error_fd) {
  CheckSys(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "set the parent death signal");
  pollfd fd{error_fd, 0, 0};
  if (::poll(&fd, 1, 0) > 0 && (fd.revents & POLLERR)) ::_exit(kSetupFailedExitCode);
}

// Before anything else, so that every process the container starts is
// counted and limited. Writing 0 moves the writer.
void JoinCgroups(const std::vector<std::string>& procs_files) {
  for (const std::string& file : procs_files) {
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw RunnerSysError("open " + file);
    WriteAll(fd.get(), "0", "join the cgroup " + file);
  }
}

void SetHostname(const std::string& hostname) {
  CheckSys(::sethostname(hostname.data(), hostname.size()), "set the hostname to " + hostname);
}

std::vector<std::string> ContainerEnvironment(const std::vector<std::string>& env, const ExecUser& user) {
  auto has = [&](std::string_view prefix) {
    for (const std::string& entry : env)
      if (entry.starts_with(prefix)) return true;
    return false;
  };
  std::vector<std::string> result = env;
  if (!has("PATH=")) result.push_back("PATH=" + std::string(kDefaultPath));
  if (!has("HOME=")) result.push_back("HOME=" + user.home);
  return result;
}

// mkdir -p, as root, inside the container's root.
void CreateWorkdir(const std::string& workdir) {
  for (size_t pos = 1; pos <= workdir.size(); ++pos) {
    if (pos != workdir.size() && workdir[pos] != '/') continue;
    std::string prefix = workdir.substr(0, pos);
    if (::mkdir(prefix.c_str(), kWorkdirMode) != 0 && errno != EEXIST)
      throw RunnerSysError("create working directory " + prefix);
  }
  struct stat st;
  CheckSys(::stat(workdir.c_str(), &st), "inspect working directory " + workdir);
  if (!S_ISDIR(st.st_mode)) throw RunnerSysError("use " + workdir + " as the working directory", ENOTDIR);
}

// fd 0 reads /dev/null (a RUN step has no input); fds 1 and 2 write to the
// output pipe; every other descriptor bld had closes at exec.
void ConnectStdio(int output_fd) {
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) throw RunnerSysError("open /dev/null");
  CheckSys(::dup2(null.get(), STDIN_FILENO), "connect stdin");
  CheckSys(::dup2(output_fd, STDOUT_FILENO), "connect stdout");
  CheckSys(::dup2(output_fd, STDERR_FILENO), "connect stderr");
  CheckSys(::close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC), "mark descriptors close-on-exec");
}

}  // namespace

void ConnectStdio(const StdioFds& stdio) {
  if (stdio.console_socket >= 0) {
    Pty pty = OpenPty();
    SendFd(stdio.console_socket, pty.master.get());
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
      CheckSys(::dup2(pty.slave.get(), fd), "connect the terminal");
    // The new session has no controlling terminal yet; this makes it ours,
    // so that Ctrl-C typed in it reaches the command as SIGINT.
    CheckSys(::ioctl(STDIN_FILENO, TIOCSCTTY, 0), "make the terminal the controlling terminal");
  } else {
    CheckSys(::dup2(stdio.in, STDIN_FILENO), "connect stdin");
    CheckSys(::dup2(stdio.out, STDOUT_FILENO), "connect stdout");
    CheckSys(::dup2(stdio.err, STDERR_FILENO), "connect stderr");
  }
  CheckSys(::close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC), "mark descriptors close-on-exec");
}

namespace {

// execvp(3) semantics with the container's PATH (execvp would search bld's).
[[noreturn]] void Exec(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  if (argv.empty() || argv[0].empty()) throw Error("runner: no command to run");
  std::vector<char*> args, envp;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  // The first PATH, as getenv in the new program would see it.
  std::optional<std::string> path_list;
  for (const std::string& entry : env) {
    envp.push_back(const_cast<char*>(entry.c_str()));
    if (!path_list && entry.starts_with("PATH=")) path_list = entry.substr(std::strlen("PATH="));
  }
  envp.push_back(nullptr);
  const std::string& file = argv[0];
  if (file.find('/') != std::string::npos) {
    ::execve(file.c_str(), args.data(), envp.data());
    int code = errno == ENOENT ? kNotFoundExitCode : kCannotExecuteExitCode;
    throw ExecFailure(RunnerSysError("exec " + file), code);
  }
  bool denied = false;
  const std::string& dirs = path_list.value_or("");
  for (size_t pos = 0; pos <= dirs.size();) {
    size_t end = std::min(dirs.find(':', pos), dirs.size());
    std::string dir = dirs.substr(pos, end - pos);
    pos = end + 1;
    std::string candidate = (dir.empty() ? "." : dir) + "/" + file;
    ::execve(candidate.c_str(), args.data(), envp.data());
    if (errno == EACCES) {
      denied = true;
    } else if (errno != ENOENT && errno != ENOTDIR) {
      throw RunnerSysError("exec " + candidate);
    }
  }
  if (denied) throw ExecFailure(RunnerSysError("exec \"" + file + "\"", EACCES), kCannotExecuteExitCode);
  throw ExecFailure(Error("exec: \"" + file + "\": executable file not found in $PATH"), kNotFoundExitCode);
}

// A copy of `fd` numbered above 2, so that connecting stdio cannot overwrite
// it (bld may run with some of 0, 1, 2 closed, and pipe2 takes the lowest).
int AboveStdio(int fd) {
  if (fd > STDERR_FILENO) return fd;
  return static_cast<int>(CheckSys(::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1), "move a pipe above stdio"));
}

[[noreturn]] void ContainerInit(InitPlan plan) {
  try {
    // Holding bld's read ends would hide bld's death from DieWithParent.
    ::close(plan.output_read_fd);
    ::close(plan.error_read_fd);
    plan.error_fd = AboveStdio(plan.error_fd);
    plan.output_fd = AboveStdio(plan.output_fd);
    if (plan.stdio && plan.stdio->console_socket < 0) {
      plan.stdio->in = AboveStdio(plan.stdio->in);
      plan.stdio->out = AboveStdio(plan.stdio->out);
      plan.stdio->err = AboveStdio(plan.stdio->err);
    }
    ResetSignals();
    DieWithParent(plan.error_fd);
    JoinCgroups(plan.cgroup_procs);
    if (plan.run.network == NetworkMode::kJoin) JoinNetworkNamespace(plan.join_network_fd);
    // A session of its own: Ctrl-C on bld's terminal goes to bld, which
    // stops the container deliberately, and the container has no
    // controlling terminal to read from or steal.
    CheckSys(::setsid(), "start a new session");
    ::umask(kContainerUmask);
    MakeMountsPrivate();
    MountRootfs(plan.rootfs);
    if (plan.run.network == NetworkMode::kNone) BringUpLoopback();
    SetHostname(plan.hostname);
    std::vector<OpenBind> binds = OpenBindSources(plan.binds);
    PivotRoot(plan.rootfs.rootfs);
    MountBinds(binds);
    MaskKernelPaths();
    if (plan.stdio) {
      ConnectStdio(*plan.stdio);
    } else {
      ConnectStdio(plan.output_fd);
    }
    ExecCommand(plan.run, plan.error_fd);
  } catch (const std::exception& e) {
    ReportSetupError(plan.error_fd, e);
  }
  ::_exit(kSetupFailedExitCode);
}

}  // namespace

void ExecCommand(const RunConfig& run, int error_fd) {
  ExecUser user = LookUpUser(run.user);
  std::vector<std::string> env = ContainerEnvironment(run.env, user);
  const std::string workdir = run.workdir.empty() ? "/" : run.workdir;
  CreateWorkdir(workdir);
  LimitBoundingSet(kDefaultCapabilities);
  SetCapabilities(kDefaultCapabilities);
  SwitchUser(user);
  if (::chdir(workdir.c_str()) != 0)
    throw RunnerSysError("change to working directory " + workdir + " as uid " + std::to_string(user.uid));
  DieWithParent(error_fd);
  Exec(run.argv, env);
}

void ReportSetupError(int error_fd, const std::exception& e) {
  const auto* exec_failure = dynamic_cast<const ExecFailure*>(&e);
  int code = exec_failure ? exec_failure->exit_code() : kSetupFailedExitCode;
  std::string message = std::to_string(code) + kExitCodeSeparator + e.what();
  // One write below PIPE_BUF is atomic; nothing else writes to the pipe.
  [[maybe_unused]] ssize_t n = ::write(error_fd, message.data(), std::min<size_t>(message.size(), PIPE_BUF));
}

void ThrowSetupError(const std::string& message) {
  size_t separator = message.find(kExitCodeSeparator);
  int code = kSetupFailedExitCode;
  std::string text = message;
  if (separator != std::string::npos) {
    code = std::atoi(message.substr(0, separator).c_str());
    text = message.substr(separator + 1);
  }
  throw StartError(text, code);
}

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

std::unique_ptr<Container> Container::Launch(std::unique_ptr<Container> container, const ContainerSpec& spec) {
  const std::string& dir = container->path_;
  for (const char* sub : {"upper", "work", "init", "rootfs"}) MakeSubdirectory(dir + "/" + sub);

  InitPlan plan;
  plan.run = spec.run;
  plan.hostname = spec.run.hostname.empty() ? container->id().substr(0, kShortIdLength) : spec.run.hostname;
  WriteEtcFiles(dir, plan.hostname, spec.run.network == NetworkMode::kHost);
  CreateInitLayer(dir + "/init", spec.lowerdirs);
  plan.rootfs.overlay.lowerdirs.push_back(dir + "/init");
  plan.rootfs.overlay.lowerdirs.insert(plan.rootfs.overlay.lowerdirs.end(), spec.lowerdirs.begin(),
                                       spec.lowerdirs.end());
  plan.rootfs.overlay.upperdir = container->upper_dir();
  plan.rootfs.overlay.workdir = dir + "/work";
  plan.rootfs.rootfs = dir + "/rootfs";
  plan.rootfs.etc_files_dir = dir;
  plan.join_network_fd = spec.join_network_fd;
  plan.binds = spec.binds;
  plan.stdio = spec.stdio;
  plan.cgroup_procs = spec.cgroup_procs;

  Pipe output = MakePipe("output");
  Pipe error = MakePipe("setup error");
  Pipe pid_pipe = MakePipe("process ID");
  plan.output_fd = output.write.get();
  plan.error_fd = error.write.get();
  plan.output_read_fd = output.read.get();
  plan.error_read_fd = error.read.get();
  int flags = kNamespaceFlags | (spec.run.network == NetworkMode::kNone ? CLONE_NEWNET : 0);

  pid_t intermediate = ::fork();
  if (intermediate < 0) throw RunnerSysError("fork");
  if (intermediate == 0) {
    // A single-threaded copy of bld. Its clone is bld's child (CLONE_PARENT)
    // and PID 1 of the new namespaces; a raw clone without a new stack
    // returns twice, like fork.
    long pid = ::syscall(SYS_clone, flags | CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid == 0) ContainerInit(plan);
    if (pid < 0) {
      std::string message = std::to_string(kSetupFailedExitCode) + kExitCodeSeparator +
                            "runner: clone into new namespaces: " + std::strerror(errno);
      [[maybe_unused]] ssize_t n = ::write(plan.error_fd, message.data(), message.size());
      ::_exit(kSetupFailedExitCode);
    }
    pid_t child = static_cast<pid_t>(pid);
    [[maybe_unused]] ssize_t n = ::write(pid_pipe.write.get(), &child, sizeof child);
    ::_exit(0);
  }
  output.write.Reset();
  error.write.Reset();
  pid_pipe.write.Reset();
  WaitForPid(intermediate);
  pid_t pid = 0;
  if (::read(pid_pipe.read.get(), &pid, sizeof pid) != static_cast<ssize_t>(sizeof pid)) {
    std::string message = ReadUntilClosed(error.read.get());
    if (!message.empty()) ThrowSetupError(message);
    throw StartError("runner: the container process could not be started", kSetupFailedExitCode);
  }
  container->pid_ = pid;
  // By system call: glibc 2.36's <sys/pidfd.h> declares its wrappers
  // without C linkage, so C++ cannot link them.
  container->pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!container->pidfd_) {
    int err = errno;
    container->Kill();
    throw RunnerSysError("open a pidfd for process " + std::to_string(pid), err);
  }
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
  if (WIFSIGNALED(status)) return ExitStatus{0, WTERMSIG(status)};
  return ExitStatus{WEXITSTATUS(status), 0};
}

int Container::Reap() {
  int status = WaitForPid(pid_);
  reaped_ = true;
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
  if (WIFSIGNALED(status)) return ExitStatus{0, WTERMSIG(status)};
  return ExitStatus{WEXITSTATUS(status), 0};
}

}  // namespace bld::runner
