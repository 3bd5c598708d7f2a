// The life of a container: isolation from the host, ps, stop, kill, logs,
// rm, exit codes, and the truth after its monitor is killed.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/container_fixture.h"
#include "support/isolation.h"

using bld::testing::ContainerFixture;
using bld::testing::MountPointsUnder;
using bld::testing::PidNamespaceOf;
using bld::testing::ProcessesInPidNamespace;
using bld::testing::ProcessesWhere;
using bld::testing::ProcessResult;
using bld::testing::RunShell;

namespace {

// The PID of the monitor of container `id` (its command line names the
// container's random ID, which no other process on the machine has); 0 if
// there is none.
int MonitorPid(const std::string& id) {
  std::vector<pid_t> found = ProcessesWhere([&](const std::string& command_line) {
    return command_line.find("container-monitor") != std::string::npos && command_line.find(id) != std::string::npos;
  });
  return found.empty() ? 0 : found.front();
}

// The PID namespace of a running container: its processes are those in it,
// and only those (other tests and programs run `sleep` too).
std::string ContainerNamespace(const ContainerFixture& f, const std::string& container) {
  nlohmann::json inspect = nlohmann::json::parse(f.BldOk({"inspect", container}));
  return PidNamespaceOf(inspect.at(0).at("State").at("Pid").get<pid_t>());
}

// Waits (up to 5 s) until the container's namespace runs `argv0`.
void WaitForProcess(const std::string& ns, const std::string& argv0) {
  for (int attempt = 0; attempt < 100 && ProcessesInPidNamespace(ns, argv0).empty(); ++attempt) RunShell("sleep 0.05");
}

}  // namespace

TEST_CASE("a container sees only its own processes and mounts", "[e2e][run]") {
  ContainerFixture f;
  std::string ps = f.BldOk({"run", "--rm", "busybox", "ps", "-o", "pid,args"});
  CHECK(ps == "PID   COMMAND\n    1 ps -o pid,args");
  std::string mounts = f.BldOk({"run", "--rm", "busybox", "cat", "/proc/mounts"});
  CHECK(mounts.find(f.root()) == std::string::npos);
  CHECK(mounts.find(" / overlay ") != std::string::npos);
}

TEST_CASE("after the monitor is killed with SIGKILL, ps shows the truth and rm -f cleans everything", "[e2e][run]") {
  ContainerFixture f;
  std::string id = f.BldOk({"run", "-d", "-v", "/vol", "--pids-limit", "50", "busybox", "sleep", "3131"});
  CHECK(f.BldOk({"ps", "-q"}) == id.substr(0, 12));
  std::string ns = ContainerNamespace(f, id);
  REQUIRE_FALSE(ProcessesInPidNamespace(ns, "sleep").empty());
  int monitor = MonitorPid(id);
  REQUIRE(monitor > 0);
  REQUIRE(::kill(monitor, SIGKILL) == 0);
  // PID 1 dies with its monitor (parent-death signal); ps waits for nothing,
  // so the first look after the kill already tells the truth or is still
  // racing the kernel: poll until the processes are gone.
  for (int attempt = 0; attempt < 100 && !ProcessesInPidNamespace(ns).empty(); ++attempt) RunShell("sleep 0.05");
  CHECK(ProcessesInPidNamespace(ns).empty());
  CHECK(f.BldOk({"ps", "-q"}).empty());
  CHECK(f.BldOk({"ps", "-a"}).find("Exited (137)") != std::string::npos);

  f.BldOk({"rm", "-f", "-v", id});
  CHECK(f.BldOk({"ps", "-a", "-q"}).empty());
  CHECK(std::filesystem::is_empty(f.root() + "/containers"));
  CHECK(std::filesystem::is_empty(f.root() + "/volumes"));
  CHECK(MountPointsUnder(f.root()).empty());
  // Its cgroups (the limits' and the device rules'), on either hierarchy.
  for (const char* parent : {"/sys/fs/cgroup/pids/bld/", "/sys/fs/cgroup/bld/", "/sys/fs/cgroup/devices/bld/"})
    CHECK_FALSE(std::filesystem::exists(parent + id));
}

TEST_CASE("rm -f kills a running container and leaves no process, mount or directory", "[e2e][run]") {
  ContainerFixture f;
  std::string id = f.BldOk({"run", "-d", "busybox", "sleep", "3132"});
  std::string ns = ContainerNamespace(f, id);
  REQUIRE_FALSE(ProcessesInPidNamespace(ns, "sleep").empty());
  CHECK(f.Bld({"rm", id}).err.find("container is running") != std::string::npos);
  f.BldOk({"rm", "-f", id});
  CHECK(ProcessesInPidNamespace(ns).empty());
  // The monitor has written the end and let go of the container before rm
  // returns; its own exit after that (slow under the sanitizers, whose leak
  // check runs at exit) is asynchronous: poll until it is gone.
  for (int attempt = 0; attempt < 100 && MonitorPid(id) != 0; ++attempt) RunShell("sleep 0.05");
  CHECK(MonitorPid(id) == 0);
  CHECK(!std::filesystem::exists(f.root() + "/containers/" + id));
  CHECK(MountPointsUnder(f.root()).empty());
}

TEST_CASE("stop sends SIGTERM, then SIGKILL after -t seconds, and ps -a shows the exit", "[e2e][run]") {
  ContainerFixture f;
  f.BldOk(
      {"run", "-d", "--name", "trapper", "busybox", "sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"});
  // The shell may not have set its trap yet: wait for it to run its loop.
  WaitForProcess(ContainerNamespace(f, "trapper"), "sleep");
  CHECK(f.BldOk({"stop", "trapper"}) == "trapper");
  CHECK(f.BldOk({"ps", "-a"}).find("Exited (7)") != std::string::npos);

  f.BldOk({"run", "-d", "--name", "stubborn", "busybox", "sleep", "3133"});
  // PID 1 ignores SIGTERM it has no handler for: -t 0 kills at once.
  CHECK(f.BldOk({"stop", "-t", "0", "stubborn"}) == "stubborn");
  CHECK(f.BldOk({"inspect", "stubborn"}).find("\"ExitCode\": 137") != std::string::npos);
}

TEST_CASE("kill -s sends the signal to PID 1", "[e2e][run]") {
  ContainerFixture f;
  f.BldOk({"run", "-d", "--name", "k", "busybox", "sh", "-c", "trap 'exit 3' USR1; while true; do sleep 0.1; done"});
  WaitForProcess(ContainerNamespace(f, "k"), "sleep");
  f.BldOk({"kill", "-s", "USR1", "k"});
  f.BldOk({"stop", "k"});  // returns once the monitor has recorded the end
  CHECK(f.BldOk({"inspect", "--", "k"}).find("\"ExitCode\": 3") != std::string::npos);
  CHECK(f.Bld({"kill", "k"}).err.find("is not running") != std::string::npos);
}

TEST_CASE("logs keeps stdout and stderr apart and --tail shows the last lines", "[e2e][run]") {
  ContainerFixture f;
  f.BldOk({"run", "--name", "talker", "busybox", "sh", "-c", "echo one; echo two >&2; echo three"});
  ProcessResult logs = f.Bld({"logs", "talker"});
  CHECK(logs.out == "one\nthree\n");
  CHECK(logs.err == "two\n");
}

TEST_CASE("logs --tail N shows the last N lines", "[e2e][run]") {
  ContainerFixture f;
  f.BldOk({"run", "--name", "counter", "busybox", "seq", "1", "5"});
  CHECK(f.Bld({"logs", "--tail", "2", "counter"}).out == "4\n5\n");
}

TEST_CASE("logs -f follows the output until the container ends", "[e2e][run]") {
  ContainerFixture f;
  f.BldOk({"run", "-d", "--name", "slow", "busybox", "sh", "-c", "echo a; sleep 0.5; echo b"});
  CHECK(f.Bld({"logs", "-f", "slow"}).out == "a\nb\n");
}

TEST_CASE("run returns the command's exit code, 127 for a missing command, 126 for one not executable", "[e2e][run]") {
  ContainerFixture f;
  CHECK(f.Bld({"run", "--rm", "busybox", "sh", "-c", "exit 42"}).exit_code == 42);
  ProcessResult missing = f.Bld({"run", "--rm", "busybox", "no-such-command"});
  CHECK(missing.exit_code == 127);
  CHECK(missing.err.find("executable file not found") != std::string::npos);
  CHECK(f.Bld({"run", "--rm", "busybox", "/etc/passwd"}).exit_code == 126);
}

TEST_CASE("a container name is unique", "[e2e][run]") {
  ContainerFixture f;
  f.BldOk({"run", "--name", "same", "busybox", "true"});
  ProcessResult again = f.Bld({"run", "--name", "same", "busybox", "true"});
  CHECK(again.exit_code == 125);
  CHECK(again.err.find("is already in use") != std::string::npos);
  CHECK(std::distance(std::filesystem::directory_iterator(f.root() + "/containers"),
                      std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("exec joins the container with its environment, -e, -u and -w", "[e2e][run][exec]") {
  ContainerFixture f;
  f.BldOk({"run", "-d", "--name", "box", "-e", "FROM_RUN=1", "busybox", "sleep", "3134"});
  CHECK(f.BldOk({"exec", "box", "sh", "-c", "echo $FROM_RUN; hostname; ps -o pid,args | grep -c '^ *1 sleep 3134'"}) ==
        "1\n" + f.BldOk({"inspect", "box"}).substr(f.BldOk({"inspect", "box"}).find("\"Id\": \"") + 7, 12) + "\n1");
  CHECK(f.BldOk({"exec", "-e", "X=y", "-u", "app", "-w", "/tmp", "box", "sh", "-c", "echo $X $(id -un) $(pwd)"}) ==
        "y app /tmp");
  CHECK(f.Bld({"exec", "box", "sh", "-c", "exit 5"}).exit_code == 5);
  CHECK(f.Bld({"exec", "box", "nothing-here"}).exit_code == 127);
  CHECK(f.BldOk({"exec", "-i", "box", "cat"}, "piped\n") == "piped");
}

TEST_CASE("exec into a container that does not run is refused", "[e2e][run][exec]") {
  ContainerFixture f;
  f.BldOk({"run", "--name", "done", "busybox", "true"});
  ProcessResult r = f.Bld({"exec", "done", "true"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("is not running") != std::string::npos);
}

TEST_CASE("prune keeps what a container needs after its image was untagged", "[e2e][run]") {
  ContainerFixture f;
  f.BldOk({"tag", "busybox", "doomed:v1"});
  std::string id = f.BldOk({"run", "-d", "doomed:v1", "sleep", "1000"});
  f.BldOk({"exec", id, "touch", "/made-inside"});
  f.BldOk({"rmi", "doomed:v1", "busybox"});
  f.BldOk({"prune"});
  // The container still runs commands and commits onto its image's layers.
  CHECK(f.BldOk({"exec", id, "ls", "/bin/busybox"}) == "/bin/busybox");
  f.BldOk({"commit", id, "survivor:v1"});
  CHECK(f.BldOk({"run", "--rm", "survivor:v1", "ls", "/made-inside"}) == "/made-inside");
  f.BldOk({"rm", "-f", id});
  CHECK(f.Bld({"check"}).exit_code == 0);
}
