// Escape attempts from inside a container (testdata/escape-probe, one raw
// system call each), run in `bld run` and in a RUN step: under Docker's
// sandbox each fails, and bld gets the same result as podman given Docker's
// seccomp profile on this machine. The probe prints "<attempt>: <errno
// name>" ("OK" when the call succeeded); a failed attempt never ends the
// container, the build or bld.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/busybox.h"
#include "support/container_fixture.h"
#include "support/podman.h"

using bld::testing::ContainerFixture;
using bld::testing::ProcessResult;
using bld::testing::RunProcess;
using bld::testing::TempDir;
using bld::testing::WriteFile;

namespace {

namespace fs = std::filesystem;

// Every attempt the issue lists (and a few more Docker's profile blocks),
// each of which Docker's sandbox makes fail on any host.
const std::vector<std::string> kAttempts = {
    "unshare-user", "unshare-mount", "clone-newuser", "clone3",          "keyctl",          "add_key",
    "mount",        "swapon",        "reboot",        "kexec_load",      "open_by_handle_at", "bpf",
    "perf_event_open", "personality", "socket-vsock", "open-write", "/proc/sys/kernel/domainname",
};

// What Docker's sandbox answers: its profile's EPERM for a blocked call,
// ENOSYS for clone3 (so that libc falls back to clone, which it can
// filter), and a read-only /proc/sys.
const char* kBlocked =
    "unshare-user: EPERM\nunshare-mount: EPERM\nclone-newuser: EPERM\nclone3: ENOSYS\nkeyctl: EPERM\n"
    "add_key: EPERM\nmount: EPERM\nswapon: EPERM\nreboot: EPERM\nkexec_load: EPERM\nopen_by_handle_at: EPERM\n"
    "bpf: EPERM\nperf_event_open: EPERM\npersonality: EPERM\nsocket-vsock: EPERM\n"
    "open-write /proc/sys/kernel/domainname: EROFS\n";

// The masked and read-only kernel files, which some kernels do not have
// (this machine's has neither /proc/kcore nor /proc/sysrq-trigger): each
// answer is one of the allowed ones, and never OK.
const std::map<std::string, std::set<std::string>> kKernelFiles = {
    {"kcore", {"empty", "ENOENT"}},
    {"keys", {"empty"}},
    {"sysrq-trigger", {"EROFS", "ENOENT"}},
};

std::string Probe() { return BLD_ESCAPE_PROBE; }

std::vector<std::string> ProbeCommand(const std::string& binary, const std::vector<std::string>& attempts) {
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), attempts.begin(), attempts.end());
  return argv;
}

std::vector<std::string> KernelFileAttempts() {
  std::vector<std::string> attempts;
  for (const auto& [name, allowed] : kKernelFiles) attempts.push_back(name);
  return attempts;
}

// "name: result" lines as a map.
std::map<std::string, std::string> Results(const std::string& output) {
  std::map<std::string, std::string> results;
  size_t start = 0;
  for (size_t end; (end = output.find('\n', start)) != std::string::npos || start < output.size(); start = end + 1) {
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    size_t colon = line.rfind(": ");
    if (colon != std::string::npos) results[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return results;
}

void CheckKernelFiles(const std::string& output) {
  std::map<std::string, std::string> results = Results(output);
  for (const auto& [name, allowed] : kKernelFiles) {
    INFO(name << ": " << results[name]);
    CHECK(allowed.count(results[name]) == 1);
  }
}

// A store with the busybox image and `probe`: busybox plus the probe at
// /bin/probe and a setuid-root copy at /bin/probe-suid.
class ProbeFixture : public ContainerFixture {
 public:
  ProbeFixture() {
    fs::create_directories(dir() / "probe-ctx");
    fs::copy_file(Probe(), dir() / "probe-ctx/probe");
    WriteFile(dir() / "probe-ctx/Dockerfile",
              "FROM busybox\nCOPY probe /bin/probe\n"
              "RUN cp /bin/probe /bin/probe-suid && chmod 4755 /bin/probe-suid\n");
    BldOk({"build", "-q", "-t", "probe", dir() / "probe-ctx"});
  }

  // Builds `dockerfile` (FROM probe ...) with `flags` and returns what its
  // RUN steps wrote to /results.
  std::string BuildResults(const std::string& dockerfile, std::vector<std::string> flags = {}) {
    fs::create_directories(dir() / "build-ctx");
    WriteFile(dir() / "build-ctx/Dockerfile", dockerfile);
    std::vector<std::string> args = {"build", "-q", "-t", "built"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(dir() / "build-ctx");
    BldOk(args);
    return BldOk({"run", "--rm", "built", "cat", "/results"});
  }
};

std::string Joined(const std::vector<std::string>& words) {
  std::string joined;
  for (const std::string& w : words) joined += (joined.empty() ? "" : " ") + w;
  return joined;
}

}  // namespace

TEST_CASE("in bld run every escape attempt fails as Docker's sandbox makes it fail", "[e2e][run][security]") {
  ProbeFixture f;
  std::vector<std::string> args = {"run", "--rm", "probe"};
  for (const std::string& a : ProbeCommand("/bin/probe", kAttempts)) args.push_back(a);
  ProcessResult r = f.Bld(args);
  CHECK(r.exit_code == 0);
  CHECK(r.out == kBlocked);
  args = {"run", "--rm", "probe"};
  for (const std::string& a : ProbeCommand("/bin/probe", KernelFileAttempts())) args.push_back(a);
  CheckKernelFiles(f.BldOk(args));
  // bld and its store are fine after all of it.
  CHECK(f.BldOk({"run", "--rm", "probe", "echo", "still here"}) == "still here");
}

TEST_CASE("in a RUN step every escape attempt fails as in bld run, and the build goes on", "[e2e][build][security]") {
  ProbeFixture f;
  std::string results = f.BuildResults("FROM probe\nRUN " + Joined(ProbeCommand("/bin/probe", kAttempts)) +
                                       " > /results\nRUN " + Joined(ProbeCommand("/bin/probe", KernelFileAttempts())) +
                                       " > /kernel-files\nRUN echo built >> /results\n");
  CHECK(results == std::string(kBlocked) + "built");
  CheckKernelFiles(f.BldOk({"run", "--rm", "built", "cat", "/kernel-files"}));
}

TEST_CASE("podman given Docker's seccomp profile gets the same results as bld run", "[e2e][run][security][interop]") {
  ProbeFixture f;
  TempDir podman_dir;
  std::string rootfs = podman_dir / "rootfs";
  bld::testing::MakeBusyboxRootfs(rootfs);
  fs::copy_file(Probe(), rootfs + "/bin/probe");
  std::vector<std::string> attempts = kAttempts;
  for (const std::string& a : KernelFileAttempts()) attempts.push_back(a);
  attempts.insert(attempts.end(), {"socket-raw", "node", "c", "1:11"});
  std::vector<std::string> podman = {"podman", "run", "--rm", "--network", "none", "--security-opt",
                                     "seccomp=" + std::string(BLD_SOURCE_DIR) + "/runner/seccomp_default.json",
                                     "--rootfs", rootfs};
  for (const std::string& a : ProbeCommand("/bin/probe", attempts)) podman.push_back(a);
  ProcessResult reference = RunProcess(podman, "", bld::testing::PodmanEnv(podman_dir));
  REQUIRE(reference.exit_code == 0);
  std::vector<std::string> args = {"run", "--rm", "probe"};
  for (const std::string& a : ProbeCommand("/bin/probe", attempts)) args.push_back(a);
  CHECK(f.BldOk(args) + "\n" == reference.out);
}

TEST_CASE("a raw socket, allowed by default, fails with EPERM after --cap-drop NET_RAW", "[e2e][run][security]") {
  ProbeFixture f;
  CHECK(f.BldOk({"run", "--rm", "probe", "/bin/probe", "socket-raw"}) == "socket-raw: OK");
  CHECK(f.BldOk({"run", "--rm", "--cap-drop", "NET_RAW", "probe", "/bin/probe", "socket-raw"}) == "socket-raw: EPERM");
}

TEST_CASE("a setuid binary makes a user root unless no-new-privileges is set", "[e2e][run][security]") {
  ProbeFixture f;
  CHECK(f.BldOk({"run", "--rm", "-u", "app", "probe", "/bin/probe-suid", "euid"}) == "euid: 0");
  CHECK(f.BldOk({"run", "--rm", "-u", "app", "--security-opt", "no-new-privileges", "probe", "/bin/probe-suid",
                 "euid"}) == "euid: 1000");
}

TEST_CASE("after USER a RUN's setuid binary makes it root unless the build sets no-new-privileges",
          "[e2e][build][security]") {
  ProbeFixture f;
  const std::string dockerfile = "FROM probe\nUSER app\nRUN /bin/probe-suid euid > /tmp/euid\nUSER root\n"
                                 "RUN cp /tmp/euid /results\n";
  CHECK(f.BuildResults(dockerfile) == "euid: 0");
  CHECK(f.BuildResults(dockerfile, {"--security-opt", "no-new-privileges"}) == "euid: 1000");
}

TEST_CASE("a container may make a device node but opens only its own devices, and those given with --device",
          "[e2e][run][security]") {
  ProbeFixture f;
  // 1:11 is /dev/kmsg: opening it for writing needs no capability, so only
  // the device cgroup stands in the way.
  CHECK(f.BldOk({"run", "--rm", "probe", "/bin/probe", "node", "c", "1:11"}) == "mknod: OK\nopen-node: EPERM");
  CHECK(f.BldOk({"run", "--rm", "--device", "/dev/kmsg", "probe", "/bin/probe", "node", "c", "1:11"}) ==
        "mknod: OK\nopen-node: OK");
  // The permissions of a --device are the device cgroup's: w opens for
  // writing, r alone does not.
  CHECK(f.BldOk({"run", "--rm", "--device", "/dev/kmsg:/dev/probe-kmsg:w", "probe", "/bin/probe", "open-write",
                 "/dev/probe-kmsg"}) == "open-write /dev/probe-kmsg: OK");
  CHECK(f.BldOk({"run", "--rm", "--device", "/dev/kmsg:/dev/probe-kmsg:r", "probe", "/bin/probe", "open-write",
                 "/dev/probe-kmsg"}) == "open-write /dev/probe-kmsg: EPERM");
}

TEST_CASE("a privileged container lets the attempts through: the sandbox is what stopped them", "[e2e][run][security]") {
  ProbeFixture f;
  CHECK(f.BldOk({"run", "--rm", "--privileged", "probe", "/bin/probe", "unshare-user", "keyctl", "mount", "node", "c",
                 "1:11"}) == "unshare-user: OK\nkeyctl: OK\nmount: OK\nmknod: OK\nopen-node: OK");
}

TEST_CASE("seccomp=unconfined drops the filter and a profile file replaces Docker's", "[e2e][run][security]") {
  ProbeFixture f;
  CHECK(f.BldOk({"run", "--rm", "--security-opt", "seccomp=unconfined", "probe", "/bin/probe", "keyctl",
                 "unshare-user"}) == "keyctl: OK\nunshare-user: OK");
  WriteFile(f.dir() / "no-keys.json",
            R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO",
                "errnoRet": 13}]})");
  CHECK(f.BldOk({"run", "--rm", "--security-opt", "seccomp=" + f.dir() / "no-keys.json", "probe", "/bin/probe",
                 "keyctl", "unshare-user"}) == "keyctl: EACCES\nunshare-user: OK");
}
