// `bld run`'s security options (--cap-add/--cap-drop, --security-opt,
// --read-only, --tmpfs, --ulimit, --group-add), what `bld inspect` shows of
// them, what `bld exec` inherits, and docker's answer to a flag bld does not
// know.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "support/container_fixture.h"

using bld::testing::ContainerFixture;
using bld::testing::ProcessResult;

namespace {

// A line of /proc/self/status in the container.
std::string StatusLine(const ContainerFixture& f, std::vector<std::string> flags, const std::string& field) {
  std::vector<std::string> args = {"run", "--rm"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"busybox", "grep", "^" + field + ":", "/proc/self/status"});
  return f.BldOk(args);
}

}  // namespace

TEST_CASE("run and exec with a flag bld does not know say so and exit 125", "[e2e][run][security]") {
  ContainerFixture f;
  ProcessResult r = f.Bld({"run", "--rm", "--cap-drp", "ALL", "busybox", "true"});
  CHECK(r.exit_code == 125);
  CHECK(r.err == "unknown flag: --cap-drp\nSee 'bld run --help'.\n");
  r = f.Bld({"run", "--rm", "-Z", "busybox", "true"});
  CHECK(r.exit_code == 125);
  CHECK(r.err == "unknown shorthand flag: 'Z' in -Z\nSee 'bld run --help'.\n");
  std::string id = f.BldOk({"run", "-d", "busybox", "sleep", "3141"});
  r = f.Bld({"exec", "--privilegd", id, "true"});
  CHECK(r.exit_code == 125);
  CHECK(r.err == "unknown flag: --privilegd\nSee 'bld exec --help'.\n");
}

TEST_CASE("exec --privileged gives its command every capability and no seccomp filter, not the container",
          "[e2e][run][security]") {
  ContainerFixture f;
  std::string id = f.BldOk({"run", "-d", "busybox", "sleep", "3141"});
  std::vector<std::string> status = {"grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status"};
  auto exec = [&](std::vector<std::string> flags) {
    flags.insert(flags.begin(), "exec");
    flags.push_back(id);
    flags.insert(flags.end(), status.begin(), status.end());
    return f.BldOk(flags);
  };
  std::string plain = exec({});
  CHECK(plain == "CapEff:\t00000000a80425fb\nSeccomp:\t2");
  std::string privileged = exec({"--privileged"});
  CHECK_THAT(privileged, Catch::EndsWith("\nSeccomp:\t0"));
  CHECK(privileged.substr(0, privileged.find('\n')) != "CapEff:\t00000000a80425fb");
  CHECK(exec({}) == plain);  // the container itself is unchanged
}

TEST_CASE("a flag after the image belongs to the command", "[e2e][run][security]") {
  ContainerFixture f;
  CHECK(f.BldOk({"run", "--rm", "busybox", "echo", "--cap-drop"}) == "--cap-drop");
}

TEST_CASE("bad security option values are refused with exit 125 before anything starts", "[e2e][run][security]") {
  ContainerFixture f;
  ProcessResult r = f.Bld({"run", "--rm", "--cap-add", "fly", "busybox", "true"});
  CHECK(r.exit_code == 125);
  CHECK(r.err == "Error: unknown capability: \"CAP_FLY\"\n");
  r = f.Bld({"run", "--rm", "--ulimit", "nofile=300:200", "busybox", "true"});
  CHECK(r.exit_code == 125);
  CHECK(r.err == "Error: ulimit soft limit must be less than or equal to hard limit: 300 > 200\n");
  r = f.Bld({"run", "--rm", "--security-opt", "apparmor=unconfined", "busybox", "true"});
  CHECK(r.exit_code == 125);
  CHECK(r.err == "Error: invalid --security-opt: \"apparmor=unconfined\": bld has no AppArmor or SELinux support\n");
  r = f.Bld({"run", "--rm", "-v", "/data", "--tmpfs", "/data", "busybox", "true"});
  CHECK(r.exit_code == 125);
  CHECK(r.err == "Error: Duplicate mount point: /data\n");
  CHECK(f.BldOk({"ps", "-a", "-q"}).empty());
}

TEST_CASE("a container runs under Docker's seccomp filter with no_new_privs off by default", "[e2e][run][security]") {
  ContainerFixture f;
  CHECK(StatusLine(f, {}, "Seccomp") == "Seccomp:\t2");
  CHECK(StatusLine(f, {}, "NoNewPrivs") == "NoNewPrivs:\t0");
  CHECK(StatusLine(f, {"--security-opt", "no-new-privileges"}, "NoNewPrivs") == "NoNewPrivs:\t1");
  CHECK(StatusLine(f, {"--security-opt", "seccomp=unconfined"}, "Seccomp") == "Seccomp:\t0");
  CHECK(StatusLine(f, {"--privileged"}, "Seccomp") == "Seccomp:\t0");
}

TEST_CASE("added and dropped capabilities change the bounding and effective sets", "[e2e][run][security]") {
  ContainerFixture f;
  // Docker's set is 0xa80425fb; NET_RAW is bit 13, NET_ADMIN bit 12.
  CHECK(StatusLine(f, {}, "CapBnd") == "CapBnd:\t00000000a80425fb");
  CHECK(StatusLine(f, {"--cap-drop", "NET_RAW"}, "CapBnd") == "CapBnd:\t00000000a80405fb");
  CHECK(StatusLine(f, {"--cap-add", "net_admin"}, "CapEff") == "CapEff:\t00000000a80435fb");
  CHECK(StatusLine(f, {"--cap-drop", "ALL", "--cap-add", "CAP_CHOWN"}, "CapEff") == "CapEff:\t0000000000000001");
}

TEST_CASE("a read-only root keeps tmpfs mounts and /dev/shm writable", "[e2e][run][security]") {
  ContainerFixture f;
  ProcessResult r = f.Bld({"run", "--rm", "--read-only", "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c",
                           "touch /file; touch /scratch/a /dev/shm/b && grep ' /scratch ' /proc/mounts"});
  CHECK(r.exit_code == 0);
  CHECK(r.err == "touch: /file: Read-only file system\n");
  CHECK(r.out == "tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k 0 0\n");
}

TEST_CASE("ulimits and added groups reach the command", "[e2e][run][security]") {
  ContainerFixture f;
  CHECK(f.BldOk({"run", "--rm", "--ulimit", "nofile=100:200", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"}) ==
        "100\n200");
  CHECK(f.BldOk({"run", "--rm", "-u", "app", "--group-add", "4242", "busybox", "id", "-G"}) == "1000 1001 4242");
}

TEST_CASE("exec runs in the container's sandbox: its filter, capabilities and groups", "[e2e][run][security]") {
  ContainerFixture f;
  std::string id = f.BldOk({"run", "-d", "--cap-drop", "NET_RAW", "--group-add", "4242", "--security-opt",
                            "no-new-privileges", "busybox", "sleep", "3142"});
  CHECK(f.BldOk({"exec", id, "grep", "-E", "^(CapBnd|NoNewPrivs|Seccomp):", "/proc/self/status"}) ==
        "CapBnd:\t00000000a80405fb\nNoNewPrivs:\t1\nSeccomp:\t2");
  CHECK(f.BldOk({"exec", "-u", "app", id, "id", "-G"}) == "1000 1001 4242");
}

TEST_CASE("inspect shows Docker's defaults for a container run without security options", "[e2e][run][security]") {
  ContainerFixture f;
  f.BldOk({"run", "--name", "plain", "busybox", "true"});
  nlohmann::json host = nlohmann::json::parse(f.BldOk({"inspect", "plain"}))[0]["HostConfig"];
  CHECK(host["Privileged"] == false);
  CHECK(host["ReadonlyRootfs"] == false);
  CHECK(host["CapAdd"].is_null());
  CHECK(host["CapDrop"].is_null());
  CHECK(host["SecurityOpt"].is_null());
  CHECK(host["Devices"] == nlohmann::json::array());
  CHECK(host["MaskedPaths"] ==
        nlohmann::json({"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                        "/sys/devices/virtual/powercap"}));
  CHECK(host["ReadonlyPaths"] ==
        nlohmann::json({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
}

TEST_CASE("inspect shows the security options a container was run with", "[e2e][run][security]") {
  ContainerFixture f;
  f.BldOk({"run", "--name", "opts", "--cap-add", "NET_ADMIN", "--cap-drop", "mknod", "--read-only", "--tmpfs",
           "/run:size=1m", "--ulimit", "nofile=10:20", "--security-opt", "no-new-privileges", "--device",
           "/dev/null:/dev/n:r", "-u", "app", "--group-add", "extra", "busybox", "true"});
  nlohmann::json host = nlohmann::json::parse(f.BldOk({"inspect", "opts"}))[0]["HostConfig"];
  CHECK(host["CapAdd"] == nlohmann::json({"CAP_NET_ADMIN"}));
  CHECK(host["CapDrop"] == nlohmann::json({"CAP_MKNOD"}));
  CHECK(host["ReadonlyRootfs"] == true);
  CHECK(host["Tmpfs"] == nlohmann::json({{"/run", "size=1m"}}));
  CHECK(host["Ulimits"] == nlohmann::json::parse(R"([{"Name": "nofile", "Hard": 20, "Soft": 10}])"));
  CHECK(host["SecurityOpt"] == nlohmann::json({"no-new-privileges"}));
  CHECK(host["GroupAdd"] == nlohmann::json({"extra"}));
  CHECK(host["Devices"] == nlohmann::json::parse(
                               R"([{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "r"}])"));
  f.BldOk({"run", "--name", "priv", "--privileged", "busybox", "true"});
  host = nlohmann::json::parse(f.BldOk({"inspect", "priv"}))[0]["HostConfig"];
  CHECK(host["Privileged"] == true);
  CHECK(host["MaskedPaths"].is_null());
  CHECK(host["ReadonlyPaths"].is_null());
}
