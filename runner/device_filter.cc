#include "runner/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "runner/system_call.h"

namespace bld::runner {

namespace {

// The registers of the program: the context on entry, then the fields of
// struct bpf_cgroup_dev_ctx loaded once.
constexpr uint8_t kCtx = BPF_REG_1;
constexpr uint8_t kScratch = BPF_REG_1;  // the context is not needed after the loads
constexpr uint8_t kType = BPF_REG_2;
constexpr uint8_t kAccess = BPF_REG_3;
constexpr uint8_t kMajor = BPF_REG_4;
constexpr uint8_t kMinor = BPF_REG_5;
constexpr int32_t kTypeMask = 0xffff;  // access_type: access << 16 | type
constexpr int32_t kAccessShift = 16;
constexpr size_t kVerifierLogSize = 64 * 1024;

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn{};
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

bpf_insn LoadWord(uint8_t dst, int16_t offset) { return Insn(BPF_LDX | BPF_W | BPF_MEM, dst, kCtx, offset, 0); }
bpf_insn Alu32(uint8_t op, uint8_t dst, int32_t imm) { return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
void AppendReturn(int32_t value, std::vector<bpf_insn>& out) {
  out.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, value));
  out.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

int32_t AccessBits(const std::string& access) {
  int32_t bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

// One rule: jumps to the end of the block when the device does not match,
// else returns 1. The jumps' offsets are set once the block's length is
// known (a jump lands at its index + 1 + offset).
void AppendRule(const DeviceRule& rule, std::vector<bpf_insn>& out) {
  std::vector<size_t> jumps;
  auto skip_unless_equal = [&](uint8_t reg, int32_t value) {
    jumps.push_back(out.size());
    out.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, value));
  };
  if (rule.type != 'a') skip_unless_equal(kType, rule.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  int32_t allowed = AccessBits(rule.access);
  if (allowed != kAllAccess) {
    // Any access bit outside the rule's: no match.
    out.push_back(Insn(BPF_ALU | BPF_MOV | BPF_X, kScratch, kAccess, 0, 0));
    out.push_back(Alu32(BPF_AND, kScratch, ~allowed & kAllAccess));
    skip_unless_equal(kScratch, 0);
  }
  if (rule.type != 'a' && rule.major >= 0) skip_unless_equal(kMajor, static_cast<int32_t>(rule.major));
  if (rule.type != 'a' && rule.minor >= 0) skip_unless_equal(kMinor, static_cast<int32_t>(rule.minor));
  AppendReturn(1, out);
  size_t end = out.size();
  for (size_t j : jumps) out[j].off = static_cast<int16_t>(end - (j + 1));
}

long Bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof(attr)); }

}  // namespace

std::vector<bpf_insn> DeviceFilterProgram(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> out = {
      LoadWord(kType, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32(BPF_AND, kType, kTypeMask),
      LoadWord(kAccess, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32(BPF_RSH, kAccess, kAccessShift),
      LoadWord(kMajor, offsetof(bpf_cgroup_dev_ctx, major)),
      LoadWord(kMinor, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  for (const DeviceRule& rule : rules) AppendRule(rule, out);
  AppendReturn(0, out);
  return out;
}

void AttachDeviceFilter(const std::string& cgroup_dir, const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> program = DeviceFilterProgram(rules);
  std::string log(kVerifierLogSize, '\0');
  static const char kLicense[] = "GPL";
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(program.data());
  load.insn_cnt = static_cast<uint32_t>(program.size());
  load.license = reinterpret_cast<uint64_t>(kLicense);
  load.log_buf = reinterpret_cast<uint64_t>(log.data());
  load.log_size = static_cast<uint32_t>(log.size());
  load.log_level = 1;
  UniqueFd prog(static_cast<int>(Bpf(BPF_PROG_LOAD, load)));
  if (!prog) {
    int err = errno;
    log.resize(std::strlen(log.c_str()));
    throw RunnerSysError("load the device filter for " + cgroup_dir + (log.empty() ? "" : " (verifier: " + log + ")"),
                         err);
  }
  UniqueFd cgroup(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup) throw RunnerSysError("open cgroup " + cgroup_dir);
  bpf_attr attach{};
  attach.target_fd = static_cast<uint32_t>(cgroup.get());
  attach.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  CheckSys(Bpf(BPF_PROG_ATTACH, attach), "attach the device filter to " + cgroup_dir);
}

}  // namespace bld::runner
