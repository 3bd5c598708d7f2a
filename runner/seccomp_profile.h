// Seccomp profiles in Docker's format: the one `--security-opt
// seccomp=PROFILE.json` names, and the default every container gets, which
// is Docker's own default profile (moby profiles/seccomp/default.json, kept
// as data in runner/seccomp_default.json and compiled into bld).
//
// A profile is an allow-list: a default action (Docker's: fail with EPERM)
// and rules, each naming syscalls, an action, an errno to return, argument
// conditions ({index, value, valueTwo, op}), and "includes"/"excludes"
// selectors (caps, arches, minKernel) that decide whether the rule applies
// to a given container. PlanSeccompFilter applies those selectors the way
// Docker does (moby profiles/seccomp: a rule applies when none of its
// excluded caps is in the container's bounding set, its arch is not
// excluded, the kernel is older than an excluded minKernel, and all of its
// included caps, its arch and its minKernel are met), so that
// `--cap-add SYS_ADMIN` allows mount(2) and unshare(2) as it does in Docker.
//
// Everything in a profile is checked: an unknown field, action, operator,
// architecture, capability or errno name is an error naming the profile and
// the place, never ignored. Syscall names are the exception, as in runc: a
// profile lists syscalls of every architecture and kernel, and a name the
// seccomp library does not know is left out of the filter (seccomp_filter.h).
//
// Thread safety: values and pure functions; DefaultSeccompProfile is parsed
// once, safely from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bld::runner {

enum class SeccompAction { kKillThread, kKillProcess, kTrap, kErrno, kTrace, kAllow, kLog };

// libseccomp's comparison operators (SCMP_CMP_*).
enum class SeccompOperator { kNotEqual, kLess, kLessOrEqual, kEqual, kGreaterOrEqual, kGreater, kMaskedEqual };

struct SeccompCondition {
  unsigned index = 0;  // the syscall argument, 0 to 5
  SeccompOperator op = SeccompOperator::kEqual;
  uint64_t value = 0;      // the mask, for kMaskedEqual
  uint64_t value_two = 0;  // the masked value, for kMaskedEqual

  friend bool operator==(const SeccompCondition&, const SeccompCondition&) = default;
};

struct SeccompSelector {
  std::vector<std::string> caps;    // "CAP_SYS_ADMIN"
  std::vector<std::string> arches;  // Docker's names: "amd64", "x32", "arm64", ...
  std::string min_kernel;           // "4.8"; empty: none
};

struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  std::optional<uint32_t> errno_ret;  // kErrno and kTrace; unset: EPERM
  std::vector<SeccompCondition> args;
  SeccompSelector includes;
  SeccompSelector excludes;
};

struct SeccompArchMapEntry {
  std::string architecture;                  // "SCMP_ARCH_X86_64"
  std::vector<std::string> sub_architectures;
};

struct SeccompProfile {
  SeccompAction default_action = SeccompAction::kAllow;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_*"
  std::vector<SeccompArchMapEntry> arch_map;
  std::vector<std::string> flags;  // "SECCOMP_FILTER_FLAG_*"
  std::vector<SeccompRule> syscalls;
};

// Parses a Docker-format profile; `source` names it in errors ("seccomp
// profile /x/p.json: syscalls[3].action: unknown action SCMP_ACT_FOO").
// Throws bld::Error.
SeccompProfile ParseSeccompProfile(std::string_view json, std::string_view source);

// Docker's default profile, parsed.
const SeccompProfile& DefaultSeccompProfile();

// The filter one container gets from a profile: its rules after the
// selectors, for the host's architecture.
struct SeccompFilterRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  uint32_t errno_ret = 0;
  std::vector<SeccompCondition> args;
};

struct SeccompFilterPlan {
  SeccompAction default_action = SeccompAction::kAllow;
  uint32_t default_errno_ret = 0;
  std::vector<std::string> architectures;  // "SCMP_ARCH_*", besides the native one
  std::vector<std::string> flags;
  std::vector<SeccompFilterRule> rules;
};

// Where a filter runs: the architecture in Docker's naming ("amd64") and the
// kernel's release ("6.1.0-18-amd64").
struct SeccompHost {
  std::string arch;
  std::string arch_token;  // "SCMP_ARCH_X86_64": the archMap key
  std::string kernel_release;
};
SeccompHost CurrentSeccompHost();

// The rules of `profile` that apply to a container with the bounding set
// `capabilities` on `host`. Throws bld::Error for a minKernel that is not a
// version.
SeccompFilterPlan PlanSeccompFilter(const SeccompProfile& profile, uint64_t capabilities, const SeccompHost& host);

}  // namespace bld::runner
