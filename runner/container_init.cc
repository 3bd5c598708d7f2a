#include "runner/container_init.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "runner/bind_mounts.h"
#include "runner/capabilities.h"
#include "runner/file_plan_executor.h"
#include "runner/mounts.h"
#include "runner/network.h"
#include "runner/overlay.h"
#include "runner/run_mount_plan.h"
#include "runner/seccomp_filter.h"
#include "runner/terminal.h"
#include "runner/user.h"
#include "store/exit_codes.h"

namespace bld::runner {

namespace {

// How bld starts an init: argv[0], then how many descriptors it hands over
// after the plan.
constexpr const char* kInitArgv0 = "bld-container-init";
constexpr const char* kSelfExe = "/proc/self/exe";
// The plan is fd 3 in the init; the handed-over descriptors follow it, the
// setup error pipe first, so that even a plan that cannot be read can be
// reported.
constexpr int kPlanFd = 3;
constexpr int kInitErrorFd = kPlanFd + 1;
// Docker's umask for container processes; bld's own (perhaps 077) must not
// decide the modes of files a RUN step creates.
constexpr mode_t kContainerUmask = 022;
constexpr mode_t kWorkdirMode = 0755;
// The setup error message starts with its exit code and this separator.
constexpr char kExitCodeSeparator = ':';
// A plan is a few KiB; heredocs or many ops make it bigger, never this big.
constexpr size_t kMaxPlanSize = 64 << 20;

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
  if (::poll(&fd, 1, 0) > 0 && (fd.revents & POLLERR)) ::_exit(exit_code::kSetupFailed);
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
  MakeDirectories(workdir, kWorkdirMode, "create working directory");
  struct stat st;
  CheckSys(::stat(workdir.c_str(), &st), "inspect working directory " + workdir);
  if (!S_ISDIR(st.st_mode)) throw RunnerSysError("use " + workdir + " as the working directory", ENOTDIR);
}

std::string WorkdirOf(const RunConfig& run) { return run.workdir.empty() ? "/" : run.workdir; }

// `--ulimit`, set while the process may still raise a hard limit.
void SetRlimits(const std::vector<Rlimit>& rlimits) {
  for (const Rlimit& r : rlimits) {
    rlimit limit{r.soft, r.hard};
    CheckSys(::setrlimit(static_cast<__rlimit_resource>(r.resource), &limit),
             "set resource limit " + std::to_string(r.resource));
  }
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
    int code = errno == ENOENT ? exit_code::kNotFound : exit_code::kCannotExecute;
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
  if (denied) throw ExecFailure(RunnerSysError("exec \"" + file + "\"", EACCES), exit_code::kCannotExecute);
  throw ExecFailure(Error("exec: \"" + file + "\": executable file not found in $PATH"), exit_code::kNotFound);
}

// A command's container: everything container.h lists, then the exec.
[[noreturn]] void CommandInit(const InitPlan& plan) {
  try {
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
    std::vector<OpenMount> run_mounts = OpenRunMounts(plan.mounts);
    PivotRoot(plan.rootfs.rootfs);
    MountVolumes(binds, plan.rootfs.tmpfs);
    AttachRunMounts(run_mounts);
    if (plan.rootfs.mask_kernel_paths) MaskKernelPaths();
    if (plan.rootfs.read_only) {
      // Made while the root can still be written; ExecCommand finds it.
      CreateWorkdir(WorkdirOf(plan.run));
      MakeRootReadOnly();
    }
    if (plan.stdio) {
      ConnectStdio(*plan.stdio);
    } else {
      ConnectStdio(plan.output_fd);
    }
    ExecCommand(plan.run, plan.security, plan.error_fd);
  } catch (const std::exception& e) {
    ReportSetupError(plan.error_fd, e);
  }
  ::_exit(exit_code::kSetupFailed);
}

// A file step's container: the bare overlay root (and the COPY --from
// source's, read-only in effect), chroot, the plan. The umask is 0: the
// plan sets every mode itself.
[[noreturn]] void FileStepInit(const InitPlan& plan) {
  try {
    ResetSignals();
    DieWithParent(plan.error_fd);
    MakeMountsPrivate();
    const FileStepPlan& files = *plan.files;
    UniqueFd source_root;
    if (files.source) {
      MountOverlay(*files.source, files.source_root);
      source_root = UniqueFd(::open(files.source_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!source_root) throw RunnerSysError("open " + files.source_root);
    }
    MountOverlay(plan.rootfs.overlay, plan.rootfs.rootfs);
    CheckSys(::chroot(plan.rootfs.rootfs.c_str()), "chroot into " + plan.rootfs.rootfs);
    CheckSys(::chdir("/"), "change directory to the new root");
    ::umask(0);
    CarryOutFilePlan(files.plan, source_root.get());
    ::_exit(0);
  } catch (const std::exception& e) {
    ReportSetupError(plan.error_fd, e);
  }
  ::_exit(exit_code::kSetupFailed);
}

std::string ReadPlan(int fd) {
  std::string bytes;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(bytes.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw RunnerSysError("read the init plan");
    if (n == 0) return bytes;
    bytes.append(buffer, static_cast<size_t>(n));
    if (bytes.size() > kMaxPlanSize) throw Error("runner: the init plan is larger than it can be");
  }
}

// ---- bld's side ------------------------------------------------------------

// Descriptors bld hands to its init, each at a fixed number: the plan's
// fds are rewritten to those numbers before it is serialized.
class FdHandover {
 public:
  // The number `fd` will have in the init (after the plan's); -1 stays -1.
  int Pass(int fd) {
    if (fd < 0) return fd;
    from_.push_back(fd);
    return kPlanFd + static_cast<int>(from_.size());
  }
  const std::vector<int>& from() const { return from_; }

 private:
  std::vector<int> from_;
};

// Rewrites every descriptor of `plan` to its number in the init.
void HandOver(InitPlan& plan, FdHandover& fds) {
  plan.error_fd = fds.Pass(plan.error_fd);  // first: kInitErrorFd
  plan.output_fd = fds.Pass(plan.output_fd);
  plan.join_network_fd = fds.Pass(plan.join_network_fd);
  if (plan.stdio) {
    plan.stdio->in = fds.Pass(plan.stdio->in);
    plan.stdio->out = fds.Pass(plan.stdio->out);
    plan.stdio->err = fds.Pass(plan.stdio->err);
    plan.stdio->console_socket = fds.Pass(plan.stdio->console_socket);
  }
  if (plan.files) {
    plan.files->plan.context_fd = fds.Pass(plan.files->plan.context_fd);
    for (FileOp& op : plan.files->plan.ops) op.source_fd = fds.Pass(op.source_fd);
  }
}

UniqueFd PlanMemfd(const InitPlan& plan) {
  UniqueFd fd(static_cast<int>(::memfd_create("bld-init-plan", MFD_CLOEXEC)));
  if (!fd) throw RunnerSysError("create the init plan's memfd");
  WriteAll(fd.get(), SerializeInitPlan(plan), "write the init plan");
  return fd;
}

// What the cloned child needs, all made before the clone: after it, the
// child may not allocate.
struct ExecImage {
  std::vector<int> from;     // descriptors to hand over, plan first
  std::vector<int> scratch;  // room for their temporary copies
  std::string count;         // argv[1]
  std::vector<char*> argv;
  char* envp[1] = {nullptr};
  int scratch_base = 0;      // above every number the init uses
  int error_fd = -1;         // bld's end to report a failed exec on
};

// Puts each handed-over descriptor at its number: copies first, since a
// source may sit at another's target number. Async-signal-safe.
bool PlaceDescriptors(ExecImage& image) {
  size_t n = image.from.size();
  for (size_t i = 0; i < n; ++i) {
    image.scratch[i] = ::fcntl(image.from[i], F_DUPFD_CLOEXEC, image.scratch_base);
    if (image.scratch[i] < 0) return false;
  }
  for (size_t i = 0; i < n; ++i)
    if (::dup2(image.scratch[i], kPlanFd + static_cast<int>(i)) < 0) return false;
  return true;
}

// The child of the clone: only async-signal-safe system calls, then it
// becomes the init.
[[noreturn]] void ExecInitInChild(ExecImage& image) {
  // The setup error format (exit code, separator, text), spelled out: the
  // child may not build a string.
  static constexpr char kExecFailed[] = "125:runner: cannot execute bld as the container's init";
  static_assert(exit_code::kSetupFailed == 125 && kExitCodeSeparator == ':');
  if (PlaceDescriptors(image)) ::execve(kSelfExe, image.argv.data(), image.envp);
  [[maybe_unused]] ssize_t w = ::write(image.error_fd, kExecFailed, sizeof kExecFailed - 1);
  ::_exit(exit_code::kSetupFailed);
}

}  // namespace

SpawnedInit SpawnInit(InitPlan plan, int clone_flags) {
  ExecImage image;
  image.error_fd = plan.error_fd;
  FdHandover fds;
  HandOver(plan, fds);
  UniqueFd plan_fd = PlanMemfd(plan);
  image.from.push_back(plan_fd.get());
  image.from.insert(image.from.end(), fds.from().begin(), fds.from().end());
  image.scratch.resize(image.from.size());
  image.scratch_base = kPlanFd + static_cast<int>(image.from.size());
  image.count = std::to_string(fds.from().size());
  image.argv = {const_cast<char*>(kInitArgv0), image.count.data(), nullptr};

  int pidfd = -1;
  // A raw clone returns twice, like fork, without a new stack; CLONE_PIDFD
  // gives a pidfd with no window for PID reuse.
  long pid = ::syscall(SYS_clone, clone_flags | CLONE_PIDFD | SIGCHLD, nullptr, &pidfd, nullptr, nullptr);
  if (pid == 0) ExecInitInChild(image);
  if (pid < 0) throw RunnerSysError("clone into new namespaces");
  SpawnedInit spawned;
  spawned.pid = static_cast<pid_t>(pid);
  spawned.pidfd = UniqueFd(pidfd);
  return spawned;
}

void RunContainerInitIfRequested(int argc, char** argv) {
  if (argc != 2 || std::strcmp(argv[0], kInitArgv0) != 0) return;
  int handed = std::atoi(argv[1]);
  // Whatever bld had open beyond what it handed over stays out.
  ::close_range(static_cast<unsigned>(kPlanFd + 1 + handed), ~0U, 0);
  InitPlan plan;
  try {
    plan = ParseInitPlan(ReadPlan(kPlanFd));
  } catch (const std::exception& e) {
    ReportSetupError(kInitErrorFd, e);
    ::_exit(exit_code::kSetupFailed);
  }
  ::close(kPlanFd);
  if (plan.files) FileStepInit(plan);
  CommandInit(plan);
}

void ExecCommand(const RunConfig& run, const ProcessSecurity& security, int error_fd) {
  ExecUser user = LookUpUser(run.user, run.group_add);
  std::vector<std::string> env = ContainerEnvironment(run.env, user);
  const std::string workdir = WorkdirOf(run);
  CreateWorkdir(workdir);
  SetRlimits(security.rlimits);
  LimitBoundingSet(security.capabilities);
  // Without no_new_privs only CAP_SYS_ADMIN may install a filter: load it
  // while the setup still has every capability (seccomp_filter.h).
  bool filter = !security.seccomp.empty();
  if (filter && !security.no_new_privileges) LoadSeccompFilter(security.seccomp);
  // The user first, while the setup may still change groups and ids; a
  // non-root user then has no capabilities, as in Docker.
  SwitchUser(user);
  SetCapabilities(user.uid == 0 ? security.capabilities : 0);
  if (::chdir(workdir.c_str()) != 0)
    throw RunnerSysError("change to working directory " + workdir + " as uid " + std::to_string(user.uid));
  DieWithParent(error_fd);
  if (security.no_new_privileges) {
    CheckSys(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
    if (filter) LoadSeccompFilter(security.seccomp);
  }
  Exec(run.argv, env);
}

void ReportSetupError(int error_fd, const std::exception& e) {
  const auto* exec_failure = dynamic_cast<const ExecFailure*>(&e);
  int code = exec_failure ? exec_failure->exit_code() : exit_code::kSetupFailed;
  std::string message = std::to_string(code) + kExitCodeSeparator + e.what();
  // One write below PIPE_BUF is atomic; nothing else writes to the pipe.
  [[maybe_unused]] ssize_t n = ::write(error_fd, message.data(), std::min<size_t>(message.size(), PIPE_BUF));
}

void ThrowSetupError(const std::string& message) {
  size_t separator = message.find(kExitCodeSeparator);
  int code = exit_code::kSetupFailed;
  std::string text = message;
  if (separator != std::string::npos) {
    code = std::atoi(message.substr(0, separator).c_str());
    text = message.substr(separator + 1);
  }
  throw StartError(text, code);
}

}  // namespace bld::runner
