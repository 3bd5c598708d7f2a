// Docker-format seccomp profiles: what is read, what is refused, and which
// rules a container gets for its capabilities, architecture and kernel.
#include "runner/seccomp_profile.h"

#include <catch2/catch.hpp>

#include <algorithm>

#include "runner/capabilities.h"

namespace bld::runner {
namespace {

const SeccompHost kHost{"amd64", "SCMP_ARCH_X86_64", "6.1.0-18-amd64"};

// The action the plan gives `name` when its first applicable rule names it
// with no argument condition, or nothing.
std::optional<SeccompFilterRule> PlainRuleFor(const SeccompFilterPlan& plan, const std::string& name) {
  for (const SeccompFilterRule& rule : plan.rules)
    if (rule.args.empty() && std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end()) return rule;
  return std::nullopt;
}

SeccompProfile Parse(const std::string& json) { return ParseSeccompProfile(json, "p.json"); }

TEST_CASE("Docker's default profile denies with EPERM and keeps mount and unshare for CAP_SYS_ADMIN") {
  const SeccompProfile& profile = DefaultSeccompProfile();
  CHECK(profile.default_action == SeccompAction::kErrno);
  CHECK(profile.default_errno_ret == 1u);
  SeccompFilterPlan plan = PlanSeccompFilter(profile, kDefaultCapabilities, kHost);
  CHECK(plan.default_errno_ret == 1u);
  CHECK(PlainRuleFor(plan, "read"));
  CHECK_FALSE(PlainRuleFor(plan, "mount"));
  CHECK_FALSE(PlainRuleFor(plan, "unshare"));
  CHECK_FALSE(PlainRuleFor(plan, "keyctl"));
  SeccompFilterPlan admin = PlanSeccompFilter(profile, kDefaultCapabilities | CapabilityBit(CAP_SYS_ADMIN), kHost);
  CHECK(PlainRuleFor(admin, "mount"));
  CHECK(PlainRuleFor(admin, "unshare"));
}

TEST_CASE("Docker's default profile makes clone3 fail with ENOSYS unless CAP_SYS_ADMIN is kept") {
  SeccompFilterPlan plan = PlanSeccompFilter(DefaultSeccompProfile(), kDefaultCapabilities, kHost);
  std::optional<SeccompFilterRule> clone3 = PlainRuleFor(plan, "clone3");
  REQUIRE(clone3);
  CHECK(clone3->action == SeccompAction::kErrno);
  CHECK(clone3->errno_ret == 38u);
  SeccompFilterPlan admin = PlanSeccompFilter(DefaultSeccompProfile(), AllCapabilities(), kHost);
  CHECK(PlainRuleFor(admin, "clone3")->action == SeccompAction::kAllow);
}

TEST_CASE("the archMap entry of the host's architecture adds its sub-architectures") {
  SeccompFilterPlan plan = PlanSeccompFilter(DefaultSeccompProfile(), kDefaultCapabilities, kHost);
  CHECK(plan.architectures == std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"});
  SeccompHost arm{"arm64", "SCMP_ARCH_AARCH64", "6.1.0"};
  CHECK(PlanSeccompFilter(DefaultSeccompProfile(), kDefaultCapabilities, arm).architectures ==
        std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"});
}

TEST_CASE("rules for other architectures are left out") {
  SeccompFilterPlan plan = PlanSeccompFilter(DefaultSeccompProfile(), kDefaultCapabilities, kHost);
  CHECK(PlainRuleFor(plan, "arch_prctl"));
  CHECK_FALSE(PlainRuleFor(plan, "s390_runtime_instr"));
  SeccompHost s390{"s390x", "SCMP_ARCH_S390X", "6.1.0"};
  CHECK(PlainRuleFor(PlanSeccompFilter(DefaultSeccompProfile(), kDefaultCapabilities, s390), "s390_runtime_instr"));
}

TEST_CASE("a rule with minKernel applies from that kernel version on") {
  SeccompProfile p = Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
      {"names": ["kcmp"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.10"}}]})");
  SeccompFilterPlan old_kernel = PlanSeccompFilter(p, 0, {"amd64", "SCMP_ARCH_X86_64", "4.4.0-210-generic"});
  CHECK_FALSE(PlainRuleFor(old_kernel, "ptrace"));
  CHECK(PlainRuleFor(old_kernel, "kcmp"));
  SeccompFilterPlan new_kernel = PlanSeccompFilter(p, 0, {"amd64", "SCMP_ARCH_X86_64", "5.10.0"});
  CHECK(PlainRuleFor(new_kernel, "ptrace"));
  CHECK_FALSE(PlainRuleFor(new_kernel, "kcmp"));
}

TEST_CASE("a rule needs all of its included capabilities and none of its excluded ones") {
  SeccompProfile p = Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["both"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_SYS_BOOT"]}},
      {"names": ["neither"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN", "CAP_SYS_BOOT"]}}]})");
  uint64_t admin = CapabilityBit(CAP_SYS_ADMIN);
  uint64_t boot = CapabilityBit(CAP_SYS_BOOT);
  CHECK_FALSE(PlainRuleFor(PlanSeccompFilter(p, admin, kHost), "both"));
  CHECK(PlainRuleFor(PlanSeccompFilter(p, admin | boot, kHost), "both"));
  CHECK_FALSE(PlainRuleFor(PlanSeccompFilter(p, boot, kHost), "neither"));
  CHECK(PlainRuleFor(PlanSeccompFilter(p, 0, kHost), "neither"));
}

TEST_CASE("an errno is given as a number, a name, or both when they agree") {
  SeccompProfile p = Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOSYS", "syscalls": [
      {"names": ["a"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
      {"names": ["b"], "action": "SCMP_ACT_ERRNO", "errno": "EPERM", "errnoRet": 1},
      {"names": ["c"], "action": "SCMP_ACT_ERRNO"}]})");
  SeccompFilterPlan plan = PlanSeccompFilter(p, 0, kHost);
  CHECK(plan.default_errno_ret == 38u);
  CHECK(PlainRuleFor(plan, "a")->errno_ret == 13u);
  CHECK(PlainRuleFor(plan, "b")->errno_ret == 1u);
  CHECK(PlainRuleFor(plan, "c")->errno_ret == 1u);
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["b"], "action": "SCMP_ACT_ERRNO", "errno": "EPERM", "errnoRet": 2}]})"),
                    "seccomp profile p.json: syscalls[0].errno: EPERM is 1, not 2");
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "EWHAT"})"),
                    "seccomp profile p.json: defaultErrno: unknown errno EWHAT");
}

TEST_CASE("an unknown field of a profile is an error naming where it is") {
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscals": []})"),
                    "seccomp profile p.json: syscals: unknown field");
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ", "x": 1}]}]})"),
                    "seccomp profile p.json: syscalls[0].args[0].x: unknown field");
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"kernel": "4.8"}}]})"),
                    "seccomp profile p.json: syscalls[0].includes.kernel: unknown field");
}

TEST_CASE("an unknown action, operator, architecture or capability is an error") {
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_MAYBE"})"),
                    "seccomp profile p.json: defaultAction: unknown action SCMP_ACT_MAYBE");
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]})"),
                    "seccomp profile p.json: syscalls[0].args[0].op: unknown operator SCMP_CMP_LIKE");
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_Z80"]})"),
                    "seccomp profile p.json: architectures: unknown architecture SCMP_ARCH_Z80");
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_FLY"]}}]})"),
                    "seccomp profile p.json: syscalls[0].includes.caps: unknown capability CAP_FLY");
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})"),
                    "seccomp profile p.json: syscalls[0].args[0].index: must be from 0 to 5");
}

TEST_CASE("what bld cannot do with a profile is refused, not ignored") {
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_NOTIFY"})"),
                    "seccomp profile p.json: defaultAction: SCMP_ACT_NOTIFY needs a seccomp agent, which bld does "
                    "not have");
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/agent.sock"})"),
                    "seccomp profile p.json: listenerPath: a seccomp agent is not supported by bld");
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]})"),
                    "seccomp profile p.json: flags: unsupported flag SECCOMP_FILTER_FLAG_NEW_LISTENER");
}

TEST_CASE("a rule names its syscalls with name or names, not both") {
  CHECK_THROWS_WITH(Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]})"),
                    "seccomp profile p.json: syscalls[0]: both name and names are given; use one");
  SeccompProfile p = Parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"name": "read", "action": "SCMP_ACT_ALLOW"}]})");
  CHECK(p.syscalls.at(0).names == std::vector<std::string>{"read"});
}

TEST_CASE("a profile that is not JSON is an error naming the profile") {
  CHECK_THROWS_WITH(Parse("{"), Catch::StartsWith("seccomp profile p.json: not JSON"));
}

}  // namespace
}  // namespace bld::runner
