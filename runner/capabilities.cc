#include "runner/capabilities.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "runner/system_call.h"

namespace bld::runner {

namespace {

// Capability numbers fit in 64 bits; the kernel says which exist (EINVAL
// past its CAP_LAST_CAP), so a newer kernel's extra ones are dropped too.
constexpr int kMaxCapabilities = 64;
constexpr int kBitsPerWord = 32;

// Linux's capabilities, as <linux/capability.h> numbers them.
struct NamedCapability {
  int number;
  const char* name;
};
constexpr NamedCapability kCapabilities[] = {
    {CAP_CHOWN, "CAP_CHOWN"},
    {CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE"},
    {CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"},
    {CAP_FOWNER, "CAP_FOWNER"},
    {CAP_FSETID, "CAP_FSETID"},
    {CAP_KILL, "CAP_KILL"},
    {CAP_SETGID, "CAP_SETGID"},
    {CAP_SETUID, "CAP_SETUID"},
    {CAP_SETPCAP, "CAP_SETPCAP"},
    {CAP_LINUX_IMMUTABLE, "CAP_LINUX_IMMUTABLE"},
    {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"},
    {CAP_NET_BROADCAST, "CAP_NET_BROADCAST"},
    {CAP_NET_ADMIN, "CAP_NET_ADMIN"},
    {CAP_NET_RAW, "CAP_NET_RAW"},
    {CAP_IPC_LOCK, "CAP_IPC_LOCK"},
    {CAP_IPC_OWNER, "CAP_IPC_OWNER"},
    {CAP_SYS_MODULE, "CAP_SYS_MODULE"},
    {CAP_SYS_RAWIO, "CAP_SYS_RAWIO"},
    {CAP_SYS_CHROOT, "CAP_SYS_CHROOT"},
    {CAP_SYS_PTRACE, "CAP_SYS_PTRACE"},
    {CAP_SYS_PACCT, "CAP_SYS_PACCT"},
    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
    {CAP_SYS_BOOT, "CAP_SYS_BOOT"},
    {CAP_SYS_NICE, "CAP_SYS_NICE"},
    {CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE"},
    {CAP_SYS_TIME, "CAP_SYS_TIME"},
    {CAP_SYS_TTY_CONFIG, "CAP_SYS_TTY_CONFIG"},
    {CAP_MKNOD, "CAP_MKNOD"},
    {CAP_LEASE, "CAP_LEASE"},
    {CAP_AUDIT_WRITE, "CAP_AUDIT_WRITE"},
    {CAP_AUDIT_CONTROL, "CAP_AUDIT_CONTROL"},
    {CAP_SETFCAP, "CAP_SETFCAP"},
    {CAP_MAC_OVERRIDE, "CAP_MAC_OVERRIDE"},
    {CAP_MAC_ADMIN, "CAP_MAC_ADMIN"},
    {CAP_SYSLOG, "CAP_SYSLOG"},
    {CAP_WAKE_ALARM, "CAP_WAKE_ALARM"},
    {CAP_BLOCK_SUSPEND, "CAP_BLOCK_SUSPEND"},
    {CAP_AUDIT_READ, "CAP_AUDIT_READ"},
    {CAP_PERFMON, "CAP_PERFMON"},
    {CAP_BPF, "CAP_BPF"},
    {CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE"},
};
constexpr std::string_view kAll = "ALL";
constexpr std::string_view kCapPrefix = "CAP_";

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

uint64_t BitsOf(const std::vector<std::string>& names) {
  uint64_t bits = 0;
  for (const std::string& name : names)
    if (name != kAll) bits |= CapabilityBit(CapabilityNumber(name));
  return bits;
}

}  // namespace

std::string_view CapabilityName(int capability) {
  for (const NamedCapability& cap : kCapabilities)
    if (cap.number == capability) return cap.name;
  return {};
}

int CapabilityNumber(std::string_view name) {
  for (const NamedCapability& cap : kCapabilities)
    if (name == cap.name) return cap.number;
  return -1;
}

std::string NormalizeCapability(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  if (upper == kAll) return upper;
  if (!upper.starts_with(kCapPrefix)) upper = std::string(kCapPrefix) + upper;
  if (CapabilityNumber(upper) < 0) throw Error("unknown capability: \"" + upper + "\"");
  return upper;
}

uint64_t AllCapabilities() {
  uint64_t all = 0;
  // 1: in this process's bounding set; 0: not; EINVAL: unknown to the kernel.
  for (const NamedCapability& cap : kCapabilities)
    if (::prctl(PR_CAPBSET_READ, cap.number, 0, 0, 0) == 1) all |= CapabilityBit(cap.number);
  return all;
}

uint64_t TweakCapabilities(uint64_t base, const std::vector<std::string>& add, const std::vector<std::string>& drop) {
  if (Contains(add, kAll)) return AllCapabilities() & ~BitsOf(drop);
  if (Contains(drop, kAll)) return BitsOf(add);
  return (base & ~BitsOf(drop)) | BitsOf(add);
}

std::vector<std::string> CapabilityNames(uint64_t set) {
  std::vector<std::string> names;
  for (const NamedCapability& cap : kCapabilities)
    if (set & CapabilityBit(cap.number)) names.emplace_back(cap.name);
  return names;
}

void LimitBoundingSet(uint64_t keep) {
  for (int cap = 0; cap < kMaxCapabilities; ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;
    if (keep & CapabilityBit(cap)) continue;
    CheckSys(::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0),
             "drop capability " + std::to_string(cap) + " from the bounding set");
  }
}

void SetCapabilities(uint64_t capabilities) {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; ++word) {
    auto bits = static_cast<uint32_t>(capabilities >> (word * kBitsPerWord));
    data[word].permitted = bits;
    data[word].effective = bits;
    data[word].inheritable = 0;
  }
  CheckSys(::syscall(SYS_capset, &header, data), "set the capabilities");
  CheckSys(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear the ambient capabilities");
}

}  // namespace bld::runner
