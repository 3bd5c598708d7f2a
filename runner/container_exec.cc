#include "runner/container_exec.h"

#include "runner/container_init.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>

#include "runner/device_cgroup.h"
#include "runner/seccomp_cache.h"
#include "runner/terminal.h"
#include "store/exit_codes.h"

namespace bld::runner {

namespace {

constexpr size_t kChunk = 64 * 1024;

struct Namespace {
  const char* name;
  int type;
};
// Mount last: see the header.
constexpr Namespace kNamespaces[] = {
    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
};

// The container's environment with `extra` added, a key given again replacing
// the container's value.
std::vector<std::string> MergeEnv(std::vector<std::string> env, const std::vector<std::string>& extra) {
  for (const std::string& entry : extra) {
    std::string key = entry.substr(0, entry.find('='));
    std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
    env.push_back(entry);
  }
  return env;
}

// In the forked child: into the container, fork the process that runs the
// command, and exit as it exits.
[[noreturn]] void EnterAndRun(const std::vector<UniqueFd>& namespaces, const std::vector<std::string>& cgroup_procs,
                              const RunConfig& run, const ProcessSecurity& security, const StdioFds& stdio,
                              int error_fd) {
  try {
    for (const std::string& file : cgroup_procs) {
      UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd) throw RunnerSysError("open " + file);
      WriteAll(fd.get(), "0", "join the cgroup " + file);
    }
    for (size_t i = 0; i < namespaces.size(); ++i)
      CheckSys(::setns(namespaces[i].get(), kNamespaces[i].type),
               std::string("join the container's ") + kNamespaces[i].name + " namespace");
    pid_t pid = ::fork();
    if (pid < 0) throw RunnerSysError("fork into the container's PID namespace");
    if (pid == 0) {
      CheckSys(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "set the parent death signal");
      CheckSys(::setsid(), "start a new session");
      ConnectStdio(stdio);
      ExecCommand(run, security, error_fd);
    }
    ::close(error_fd);
    int status = WaitForPid(pid);
    ::_exit(exit_code::FromWaitStatus(status));
  } catch (const std::exception& e) {
    ReportSetupError(error_fd, e);
  }
  ::_exit(exit_code::kSetupFailed);
}

// Copies bld's stdin to the terminal and the terminal to bld's stdout until
// the process `pid` ends and its output is read.
void RelayTerminal(int master, bool interactive) {
  char buffer[kChunk];
  bool reading_stdin = interactive;
  for (;;) {
    pollfd fds[2] = {{master, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (::poll(fds, reading_stdin ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents) {
      ssize_t n = ::read(master, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // EIO: every holder of the slave is gone
      WriteAll(STDOUT_FILENO, std::string_view(buffer, static_cast<size_t>(n)), "write to stdout");
    }
    if (reading_stdin && fds[1].revents) {
      ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n <= 0) {
        reading_stdin = false;
      } else {
        WriteAll(master, std::string_view(buffer, static_cast<size_t>(n)), "write to the terminal");
      }
    }
  }
}

}  // namespace

ExitStatus ExecInContainer(const store::Store& store, const ContainerRecord& record, const ExecSpec& spec) {
  ContainerRecord live = LiveState(store, record);
  UniqueFd process = OpenContainerProcess(live);
  if (!process) throw Error("Container " + record.id + " is not running");
  std::vector<UniqueFd> namespaces;
  for (const Namespace& ns : kNamespaces) {
    std::string path = "/proc/" + std::to_string(live.pid) + "/ns/" + ns.name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw RunnerSysError("open " + path);
    namespaces.push_back(std::move(fd));
  }
  // Opened by PID: if it was reused in between, the start time differs.
  if (ProcessStartTime(live.pid) != live.pid_start_time) throw Error("Container " + record.id + " is not running");

  RunConfig run = live.run;
  run.argv = spec.argv;
  run.env = MergeEnv(live.run.env, spec.env);
  if (!spec.user.empty()) run.user = spec.user;
  if (!spec.workdir.empty()) run.workdir = spec.workdir;
  std::vector<std::string> cgroup_procs;
  for (const std::string& dir : live.cgroups) cgroup_procs.push_back(dir + "/cgroup.procs");
  // The container's device rules hold for what is exec'd in it too.
  std::string device_cgroup = DeviceCgroupDir(live.id);
  if (::access(device_cgroup.c_str(), F_OK) == 0) cgroup_procs.push_back(device_cgroup + "/cgroup.procs");
  // Compiled before the fork: the child only loads it.
  ContainerSecurity container_security = live.security;
  if (spec.privileged) container_security.privileged = true;
  ProcessSecurity security = ResolveProcessSecurity(container_security, SeccompCacheDir(store));

  UniqueFd console, console_child;
  UniqueFd null_in;
  StdioFds stdio{STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, -1};
  if (spec.tty) {
    ConsoleSocket socket = MakeConsoleSocket();
    console = std::move(socket.ours);
    console_child = std::move(socket.child);
    stdio.console_socket = console_child.get();
  } else if (!spec.interactive) {
    null_in = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_in) throw RunnerSysError("open /dev/null");
    stdio.in = null_in.get();
  }
  int error_pipe[2];
  CheckSys(::pipe2(error_pipe, O_CLOEXEC), "create the setup error pipe");
  UniqueFd error_read(error_pipe[0]), error_write(error_pipe[1]);

  pid_t pid = ::fork();
  if (pid < 0) throw RunnerSysError("fork");
  if (pid == 0) {
    error_read.Reset();
    EnterAndRun(namespaces, cgroup_procs, run, security, stdio, error_write.get());
  }
  error_write.Reset();
  console_child.Reset();
  UniqueFd master;
  if (console) master = ReceiveFd(console.get());
  std::string setup_error = ReadUntilClosed(error_read.get());
  if (!setup_error.empty()) {
    WaitForPid(pid);
    ThrowSetupError(setup_error);
  }
  if (master) {
    CopyWindowSize(STDIN_FILENO, master.get());
    RawTerminal raw(STDIN_FILENO);
    RelayTerminal(master.get(), spec.interactive);
  }
  int status = WaitForPid(pid);
  return ExitStatus::FromWait(status);
}

}  // namespace bld::runner
