// The security options of a container as the user gives them (`bld run`'s
// flags, `--security-opt`), with Docker's wording for what is wrong, and
// what they come to when a container starts.
#include "runner/container_security.h"

#include <sys/mount.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "runner/mounts.h"
#include "support/process.h"

namespace bld::runner {
namespace {

using testing::TempDir;
using testing::WriteFile;

ContainerSecurity WithOpts(std::initializer_list<const char*> opts) {
  ContainerSecurity security;
  for (const char* opt : opts) ApplySecurityOpt(security, opt);
  return security;
}

TEST_CASE("a --ulimit takes a soft and a hard limit, the hard one defaulting to the soft one") {
  CHECK(ParseUlimit("nofile=1024:2048") == Ulimit{"nofile", 1024, 2048});
  CHECK(ParseUlimit("core=0") == Ulimit{"core", 0, 0});
  CHECK(ParseUlimit("memlock=-1:-1") == Ulimit{"memlock", -1, -1});
  CHECK(ParseUlimit("stack=infinity") == Ulimit{"stack", -1, -1});
}

TEST_CASE("a bad --ulimit is refused in Docker's words") {
  CHECK_THROWS_WITH(ParseUlimit("nofile"), "invalid ulimit argument: nofile");
  CHECK_THROWS_WITH(ParseUlimit("as=1"), "invalid ulimit type: as");
  CHECK_THROWS_WITH(ParseUlimit("nofile=1:2:3"),
                    "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`");
  CHECK_THROWS_WITH(ParseUlimit("nofile=300:200"), "ulimit soft limit must be less than or equal to hard limit: 300 > 200");
  CHECK_THROWS_WITH(ParseUlimit("nofile=-1:200"),
                    "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 200");
  CHECK_THROWS_WITH(ParseUlimit("nofile=many"), "invalid ulimit value: many");
}

TEST_CASE("a --tmpfs gets Docker's noexec, nosuid and nodev unless its options say otherwise") {
  TmpfsMount plain = TmpfsMountOf(ParseTmpfs("/run"));
  CHECK(plain == TmpfsMount{"/run", MS_NOEXEC | MS_NOSUID | MS_NODEV, ""});
  TmpfsMount exec = TmpfsMountOf(ParseTmpfs("/scratch:exec,ro,size=64m,mode=1777"));
  CHECK(exec == TmpfsMount{"/scratch", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=64m,mode=1777"});
}

TEST_CASE("a --tmpfs path must be absolute and not /, and its options known") {
  CHECK_THROWS_WITH(ParseTmpfs("run"), "invalid mount path: 'run' mount path must be absolute");
  CHECK_THROWS_WITH(ParseTmpfs("/"), "invalid specification: destination can't be '/'");
  CHECK_THROWS_WITH(ParseTmpfs("/a/../etc"), "invalid mount path: '/a/../etc' must not contain '..'");
  CHECK_THROWS_WITH(ParseTmpfs("/run:rw,shared"), "invalid tmpfs option \"shared\" for /run");
  CHECK_THROWS_WITH(ParseTmpfs("/run:size="), "invalid tmpfs option \"size=\" for /run");
}

TEST_CASE("a --device is HOST, HOST:CTR, HOST:PERMS or HOST:CTR:PERMS") {
  CHECK(ParseDevice("/dev/fuse") == DeviceMapping{"/dev/fuse", "/dev/fuse", "rwm"});
  CHECK(ParseDevice("/dev/sdb:/dev/xvdc") == DeviceMapping{"/dev/sdb", "/dev/xvdc", "rwm"});
  CHECK(ParseDevice("/dev/kmsg:w") == DeviceMapping{"/dev/kmsg", "/dev/kmsg", "w"});
  CHECK(ParseDevice("/dev/sdb:/dev/xvdc:rm") == DeviceMapping{"/dev/sdb", "/dev/xvdc", "rm"});
}

TEST_CASE("a --device with a bad mode, a relative path or a path outside /dev is refused") {
  CHECK_THROWS_WITH(ParseDevice("/dev/sdb:/dev/xvdc:rwx"), "invalid device mode: rwx");
  CHECK_THROWS_WITH(ParseDevice("/dev/sdb:/dev/xvdc:rr"), "invalid device mode: rr");
  CHECK_THROWS_WITH(ParseDevice("sdb"), "bad format for path: sdb");
  CHECK_THROWS_WITH(ParseDevice("/dev/sdb:xvdc"), "bad format for path: xvdc");
  CHECK_THROWS_WITH(ParseDevice("/dev/sdb:/xvdc"),
                    "--device /dev/sdb:/xvdc: bld makes devices only under /dev/ in the container");
  CHECK_THROWS_WITH(ParseDevice("/dev/sdb:/dev/../etc/x"),
                    "--device /dev/sdb:/dev/../etc/x: bld makes devices only under /dev/ in the container");
  CHECK_THROWS_WITH(ParseDevice("/a:/dev/b:r:x"), "invalid device specification: /a:/dev/b:r:x");
}

TEST_CASE("a --device that is not a device node on the host is refused when the container starts") {
  CHECK_THROWS_WITH(DeviceNodeOf(ParseDevice("/etc/passwd:/dev/passwd")),
                    "error gathering device information while adding custom device \"/etc/passwd\": not a device "
                    "node");
  DeviceNode null = DeviceNodeOf(ParseDevice("/dev/null:/dev/other-null"));
  CHECK(null.path == "/dev/other-null");
  CHECK(null.major == 1);
  CHECK(null.minor == 3);
}

TEST_CASE("security options take no-new-privileges, seccomp and systempaths as Docker does") {
  CHECK(WithOpts({"no-new-privileges"}).no_new_privileges);
  CHECK(WithOpts({"no-new-privileges=true"}).no_new_privileges);
  CHECK(WithOpts({"no-new-privileges:true"}).no_new_privileges);
  CHECK_FALSE(WithOpts({"no-new-privileges", "no-new-privileges=false"}).no_new_privileges);
  CHECK(WithOpts({"seccomp=unconfined"}).seccomp == SeccompMode::kUnconfined);
  CHECK(WithOpts({"seccomp=unconfined", "seccomp=builtin"}).seccomp == SeccompMode::kDefault);
  CHECK(WithOpts({"systempaths=unconfined"}).unmask_system_paths);
}

TEST_CASE("a seccomp=FILE security option reads and checks the profile at once") {
  TempDir dir;
  WriteFile(dir / "good.json", "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n");
  ContainerSecurity security = WithOpts({("seccomp=" + dir / "good.json").c_str()});
  CHECK(security.seccomp == SeccompMode::kProfile);
  CHECK(security.seccomp_profile == R"({"defaultAction":"SCMP_ACT_ALLOW"})");
  WriteFile(dir / "bad.json", R"({"defaultAction": "SCMP_ACT_ALLOW", "syscall": []})");
  CHECK_THROWS_WITH(WithOpts({("seccomp=" + dir / "bad.json").c_str()}),
                    "seccomp profile " + dir / "bad.json" + ": syscall: unknown field");
  CHECK_THROWS_WITH(WithOpts({("seccomp=" + dir / "none.json").c_str()}),
                    "opening seccomp profile (" + dir / "none.json" + ") failed: No such file or directory");
}

TEST_CASE("AppArmor, SELinux and unknown security options are refused") {
  CHECK_THROWS_WITH(WithOpts({"apparmor=unconfined"}),
                    "invalid --security-opt: \"apparmor=unconfined\": bld has no AppArmor or SELinux support");
  CHECK_THROWS_WITH(WithOpts({"label=disable"}),
                    "invalid --security-opt: \"label=disable\": bld has no AppArmor or SELinux support");
  CHECK_THROWS_WITH(WithOpts({"no-new-privileges=maybe"}),
                    "invalid --security-opt: \"no-new-privileges=maybe\": no-new-privileges takes true or false");
  CHECK_THROWS_WITH(WithOpts({"seccomp"}), Catch::StartsWith("invalid --security-opt: \"seccomp\" (bld takes"));
  CHECK_THROWS_WITH(WithOpts({"systempaths=masked"}),
                    Catch::StartsWith("invalid --security-opt: \"systempaths=masked\" (bld takes"));
}

TEST_CASE("capability names are normalized as Docker does, and unknown ones refused") {
  CHECK(NormalizeCapability("net_admin") == "CAP_NET_ADMIN");
  CHECK(NormalizeCapability("CAP_SYS_TIME") == "CAP_SYS_TIME");
  CHECK(NormalizeCapability("all") == "ALL");
  CHECK_THROWS_WITH(NormalizeCapability("fly"), "unknown capability: \"CAP_FLY\"");
}

TEST_CASE("added and dropped capabilities follow Docker's rules, ALL included") {
  uint64_t raw = CapabilityBit(CAP_NET_RAW);
  uint64_t admin = CapabilityBit(CAP_NET_ADMIN);
  CHECK(TweakCapabilities(kDefaultCapabilities, {}, {"CAP_NET_RAW"}) == (kDefaultCapabilities & ~raw));
  CHECK(TweakCapabilities(kDefaultCapabilities, {"CAP_NET_ADMIN"}, {}) == (kDefaultCapabilities | admin));
  CHECK(TweakCapabilities(kDefaultCapabilities, {"CAP_NET_RAW"}, {"ALL"}) == raw);
  CHECK(TweakCapabilities(kDefaultCapabilities, {"ALL"}, {"CAP_NET_RAW"}) == (AllCapabilities() & ~raw));
}

TEST_CASE("the default options are Docker's sandbox") {
  ContainerSecurity security;
  ProcessSecurity process = ResolveProcessSecurity(security);
  CHECK(process.capabilities == kDefaultCapabilities);
  CHECK_FALSE(process.seccomp.empty());
  CHECK_FALSE(process.no_new_privileges);
  CHECK(MaskedPathsOf(security) == MaskedPaths());
  CHECK(ReadonlyPathsOf(security) == ReadonlyPaths());
  CHECK(ContainerDeviceRules(security, {}) == DefaultDeviceRules());
  CHECK(SecurityOptStrings(security).empty());
}

TEST_CASE("Docker's masked and read-only paths are the ones masked") {
  CHECK(MaskedPaths() == std::vector<std::string>{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                                                  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                                  "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                                                  "/sys/devices/virtual/powercap"});
  CHECK(ReadonlyPaths() ==
        std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
}

TEST_CASE("a privileged container has every capability bld holds, no filter, no masked paths and no device rules") {
  ContainerSecurity security;
  security.privileged = true;
  ProcessSecurity process = ResolveProcessSecurity(security);
  CHECK(process.capabilities == AllCapabilities());
  CHECK(process.seccomp.empty());
  CHECK(MaskedPathsOf(security).empty());
  CHECK(ReadonlyPathsOf(security).empty());
  CHECK(ContainerDeviceRules(security, {}).empty());
}

TEST_CASE("seccomp=unconfined leaves the filter out and the capabilities as they are") {
  ProcessSecurity process = ResolveProcessSecurity(WithOpts({"seccomp=unconfined"}));
  CHECK(process.seccomp.empty());
  CHECK(process.capabilities == kDefaultCapabilities);
}

TEST_CASE("the filter follows the capabilities: --cap-add SYS_ADMIN gets another program") {
  ContainerSecurity admin;
  admin.cap_add = {"CAP_SYS_ADMIN"};
  CHECK(ResolveProcessSecurity(admin).seccomp != ResolveProcessSecurity(ContainerSecurity{}).seccomp);
}

TEST_CASE("ulimit values become rlimits, -1 as unlimited") {
  ContainerSecurity security;
  security.ulimits = {ParseUlimit("nofile=100:200"), ParseUlimit("core=-1")};
  ProcessSecurity process = ResolveProcessSecurity(security);
  CHECK(process.rlimits ==
        std::vector<Rlimit>{{RLIMIT_NOFILE, 100, 200}, {RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY}});
}

TEST_CASE("a --device with permissions adds a device cgroup rule for its numbers") {
  ContainerSecurity security;
  security.devices = {ParseDevice("/dev/null:/dev/other-null:r")};
  std::vector<DeviceNode> devices = ContainerDevices(security);
  std::vector<DeviceRule> rules = ContainerDeviceRules(security, devices);
  CHECK(rules.back() == DeviceRule{'c', 1, 3, "r"});
  CHECK(rules.back().Line() == "c 1:3 r");
}

TEST_CASE("the security options read back from a container record's JSON") {
  TempDir dir;
  WriteFile(dir / "p.json", R"({"defaultAction": "SCMP_ACT_ERRNO"})");
  ContainerSecurity security = WithOpts({"no-new-privileges", ("seccomp=" + dir / "p.json").c_str()});
  security.cap_add = {"CAP_NET_ADMIN"};
  security.cap_drop = {"ALL"};
  security.read_only_rootfs = true;
  security.tmpfs = {ParseTmpfs("/run:size=1m")};
  security.ulimits = {ParseUlimit("nofile=1:2")};
  security.devices = {ParseDevice("/dev/fuse:rw")};
  security.unmask_system_paths = true;
  CHECK(SecurityFromJson(nlohmann::json::parse(SecurityToJson(security).dump())) == security);
  CHECK(SecurityOptStrings(security) == std::vector<std::string>{"no-new-privileges",
                                                                 R"(seccomp={"defaultAction":"SCMP_ACT_ERRNO"})",
                                                                 "systempaths=unconfined"});
}

}  // namespace
}  // namespace bld::runner
