#include "runner/seccomp_filter.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>

#include "runner/system_call.h"

namespace bld::runner {

namespace {

struct ContextRelease {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextRelease>;

uint32_t ActionOf(SeccompAction action, uint32_t errno_ret) {
  switch (action) {
    case SeccompAction::kKillThread:
      return SCMP_ACT_KILL_THREAD;
    case SeccompAction::kKillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kTrap:
      return SCMP_ACT_TRAP;
    case SeccompAction::kErrno:
      return SCMP_ACT_ERRNO(errno_ret);
    case SeccompAction::kTrace:
      return SCMP_ACT_TRACE(errno_ret);
    case SeccompAction::kAllow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::kLog:
      return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare OperatorOf(SeccompOperator op) {
  switch (op) {
    case SeccompOperator::kNotEqual:
      return SCMP_CMP_NE;
    case SeccompOperator::kLess:
      return SCMP_CMP_LT;
    case SeccompOperator::kLessOrEqual:
      return SCMP_CMP_LE;
    case SeccompOperator::kEqual:
      return SCMP_CMP_EQ;
    case SeccompOperator::kGreaterOrEqual:
      return SCMP_CMP_GE;
    case SeccompOperator::kGreater:
      return SCMP_CMP_GT;
    case SeccompOperator::kMaskedEqual:
      return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

scmp_arg_cmp ComparisonOf(const SeccompCondition& c) {
  return {c.index, OperatorOf(c.op), c.value, c.value_two};
}

// "SCMP_ARCH_X86_64" -> libseccomp's token for x86_64.
uint32_t ArchOf(const std::string& name) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  std::string lower = name.substr(kPrefix.size());
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  uint32_t arch = seccomp_arch_resolve_name(lower.c_str());
  if (arch == 0) throw Error("runner: the seccomp library does not know the architecture " + name);
  return arch;
}

unsigned FlagOf(const std::string& name) {
  if (name == "SECCOMP_FILTER_FLAG_TSYNC") return SECCOMP_FILTER_FLAG_TSYNC;
  if (name == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
  if (name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  throw Error("runner: unsupported seccomp flag " + name);
}

void CheckSeccomp(int rc, const std::string& what) {
  if (rc < 0) throw RunnerSysError(what, -rc);
}

void AddRule(scmp_filter_ctx ctx, const SeccompFilterRule& rule, uint32_t action) {
  std::set<unsigned> indexes;
  bool repeated = false;
  for (const SeccompCondition& c : rule.args) repeated |= !indexes.insert(c.index).second;
  for (const std::string& name : rule.names) {
    int number = seccomp_syscall_resolve_name(name.c_str());
    if (number == __NR_SCMP_ERROR) continue;
    std::string what = "add the seccomp rule for " + name;
    if (repeated) {
      for (const SeccompCondition& c : rule.args) {
        scmp_arg_cmp cmp = ComparisonOf(c);
        CheckSeccomp(seccomp_rule_add_array(ctx, action, number, 1, &cmp), what);
      }
      continue;
    }
    std::vector<scmp_arg_cmp> cmps;
    for (const SeccompCondition& c : rule.args) cmps.push_back(ComparisonOf(c));
    CheckSeccomp(seccomp_rule_add_array(ctx, action, number, static_cast<unsigned>(cmps.size()), cmps.data()), what);
  }
}

std::string ExportBpf(scmp_filter_ctx ctx) {
  UniqueFd fd(static_cast<int>(::memfd_create("bld-seccomp", MFD_CLOEXEC)));
  if (!fd) throw RunnerSysError("create a memfd for the seccomp filter");
  CheckSeccomp(seccomp_export_bpf(ctx, fd.get()), "compile the seccomp filter");
  std::string bpf;
  char buffer[16 * 1024];
  for (off_t offset = 0;;) {
    ssize_t n = ::pread(fd.get(), buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw RunnerSysError("read the compiled seccomp filter");
    if (n == 0) break;
    bpf.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  return bpf;
}

}  // namespace

SeccompProgram CompileSeccompFilter(const SeccompFilterPlan& plan) {
  uint32_t default_action = ActionOf(plan.default_action, plan.default_errno_ret);
  Context ctx(seccomp_init(default_action));
  if (!ctx) throw Error("runner: cannot create a seccomp filter (a bad default action?)");
  for (const std::string& arch : plan.architectures) {
    int rc = seccomp_arch_add(ctx.get(), ArchOf(arch));
    if (rc != -EEXIST) CheckSeccomp(rc, "add " + arch + " to the seccomp filter");
  }
  for (const SeccompFilterRule& rule : plan.rules) {
    uint32_t action = ActionOf(rule.action, rule.errno_ret);
    // libseccomp refuses a rule that does what the default does; it
    // changes nothing.
    if (action == default_action) continue;
    AddRule(ctx.get(), rule, action);
  }
  SeccompProgram program;
  for (const std::string& flag : plan.flags) program.flags |= FlagOf(flag);
  program.bpf = ExportBpf(ctx.get());
  size_t instructions = program.bpf.size() / sizeof(sock_filter);
  if (instructions > BPF_MAXINSNS)
    throw Error("runner: the seccomp filter has " + std::to_string(instructions) +
                " instructions; the kernel takes at most " + std::to_string(BPF_MAXINSNS));
  return program;
}

void LoadSeccompFilter(const SeccompProgram& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.bpf.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(program.bpf.data()));
  CheckSys(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog), "load the seccomp filter");
}

}  // namespace bld::runner
