// What a container may do: the security options of `bld run` (--cap-add,
// --cap-drop, --privileged, --security-opt, --read-only, --tmpfs, --ulimit,
// --device), of `bld build` (--security-opt, and RUN --security=insecure
// under --allow security.insecure), as the user gave them, and what they
// come to when a container starts.
//
// The default, a ContainerSecurity{} as it is, is Docker's sandbox: Docker's
// capabilities, Docker's seccomp profile (seccomp_profile.h), Docker's
// masked and read-only paths, Docker's device rules, and no_new_privs off
// (setuid programs work, as in Docker and BuildKit). Every container the
// runner starts gets it unless its options say otherwise, so a caller that
// forgets the options gets the sandbox, never less.
//
// A privileged container (`--privileged`, and RUN --security=insecure as
// BuildKit's insecure entitlement) has every capability, no seccomp filter,
// no masked or read-only paths, a writable /sys, every host device and no
// device cgroup.
//
// What a start needs is resolved from the options each time
// (ResolveProcessSecurity, and the rootfs, devices and device rules in
// container.cc): a container record keeps the options (container_state.h),
// so `bld exec` resolves the same ones. Compiling a seccomp filter takes
// milliseconds (libseccomp, three architectures on x86-64), so compiled
// filters are kept per process for the options and capabilities they were
// made for (a build compiles its filter once for all its RUN steps), and in
// the store for the next process (seccomp_cache.h).
//
// Thread safety: the functions may be called from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "runner/capabilities.h"
#include "runner/device_nodes.h"
#include "runner/seccomp_filter.h"

namespace bld::runner {

// `--ulimit NAME=SOFT[:HARD]`; -1 is unlimited.
struct Ulimit {
  std::string name;
  int64_t soft = 0;
  int64_t hard = 0;

  friend bool operator==(const Ulimit&, const Ulimit&) = default;
};

// `--tmpfs PATH[:OPTIONS]`, as given (checked by ParseTmpfs).
struct TmpfsSpec {
  std::string target;
  std::string options;

  friend bool operator==(const TmpfsSpec&, const TmpfsSpec&) = default;
};

enum class SeccompMode { kDefault, kUnconfined, kProfile };

struct ContainerSecurity {
  bool privileged = false;
  std::vector<std::string> cap_add;   // normalized (NormalizeCapability)
  std::vector<std::string> cap_drop;
  bool no_new_privileges = false;
  SeccompMode seccomp = SeccompMode::kDefault;
  std::string seccomp_profile;  // kProfile: the profile's JSON
  bool unmask_system_paths = false;  // systempaths=unconfined
  bool read_only_rootfs = false;
  std::vector<TmpfsSpec> tmpfs;
  std::vector<Ulimit> ulimits;
  std::vector<DeviceMapping> devices;

  friend bool operator==(const ContainerSecurity&, const ContainerSecurity&) = default;
};

// A resource limit as setrlimit(2) takes it.
struct Rlimit {
  int resource = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;

  friend bool operator==(const Rlimit&, const Rlimit&) = default;
};

// What the container's processes get (ExecCommand in container_init.h).
struct ProcessSecurity {
  uint64_t capabilities = kDefaultCapabilities;
  bool no_new_privileges = false;
  SeccompProgram seccomp;  // empty: no filter
  std::vector<Rlimit> rlimits;

  friend bool operator==(const ProcessSecurity&, const ProcessSecurity&) = default;
};

// ---- The flags' values, with Docker's wording for what is wrong ----------

// Applies one `--security-opt`: no-new-privileges[=true|false],
// seccomp=unconfined, seccomp=PROFILE.json (read and checked now),
// systempaths=unconfined. Docker's deprecated ':' separator is accepted.
// Anything else is an error: AppArmor and SELinux labels (apparmor=,
// label=) have no meaning in bld.
void ApplySecurityOpt(ContainerSecurity& security, std::string_view opt);

// go-units' ParseUlimit: core, cpu, data, fsize, locks, memlock, msgqueue,
// nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack; "infinity"
// or -1 for no limit; the hard limit defaults to the soft one.
Ulimit ParseUlimit(std::string_view spec);

// `--tmpfs PATH[:OPTIONS]`: an absolute path other than /, and options
// among ro rw [no]suid [no]dev [no]exec [a]sync dirsync [no]atime
// [no]diratime [no]relatime [no]strictatime and size= mode= uid= gid=
// nr_inodes= nr_blocks= mpol=.
TmpfsSpec ParseTmpfs(std::string_view spec);

// The mount a tmpfs spec makes: Docker's noexec, nosuid, nodev, then the
// options in order (`exec` undoes noexec).
TmpfsMount TmpfsMountOf(const TmpfsSpec& spec);

// ---- What the options come to ----------------------------------------------

// The capabilities (bounding, permitted, effective) of the container.
uint64_t EffectiveCapabilities(const ContainerSecurity& security);

// Capabilities, seccomp filter (compiled, or taken from this process's
// cache or from `filter_cache_dir`, seccomp_cache.h), no_new_privs and
// rlimits. Throws bld::Error for a bad profile.
ProcessSecurity ResolveProcessSecurity(const ContainerSecurity& security, const std::string& filter_cache_dir = "");

// The device nodes the container gets beyond the default ones, and the
// device cgroup rules it runs under (empty for a privileged container: no
// device cgroup at all).
std::vector<DeviceNode> ContainerDevices(const ContainerSecurity& security);
std::vector<DeviceRule> ContainerDeviceRules(const ContainerSecurity& security, const std::vector<DeviceNode>& devices);

// Docker's paths, as `docker inspect` lists them (empty when the container
// has none).
std::vector<std::string> MaskedPathsOf(const ContainerSecurity& security);
std::vector<std::string> ReadonlyPathsOf(const ContainerSecurity& security);
// HostConfig.SecurityOpt as Docker shows it ("no-new-privileges",
// "seccomp=unconfined", "seccomp=<the profile's JSON>").
std::vector<std::string> SecurityOptStrings(const ContainerSecurity& security);

// ---- Records -----------------------------------------------------------------

nlohmann::json SecurityToJson(const ContainerSecurity& security);
// Throws bld::Error (via nlohmann's exceptions' messages) for bad JSON.
ContainerSecurity SecurityFromJson(const nlohmann::json& json);

}  // namespace bld::runner
