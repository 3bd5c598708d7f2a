#include "runner/capabilities.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "runner/system_call.h"

namespace bld::runner {

namespace {

// Capability numbers fit in 64 bits; the kernel says which exist (EINVAL
// past its CAP_LAST_CAP), so a newer kernel's extra ones are dropped too.
constexpr int kMaxCapabilities = 64;
constexpr int kBitsPerWord = 32;

}  // namespace

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

uint64_t PermittedCapabilities() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  CheckSys(::syscall(SYS_capget, &header, data), "read the capabilities");
  uint64_t permitted = 0;
  for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; ++word)
    permitted |= static_cast<uint64_t>(data[word].permitted) << (word * kBitsPerWord);
  return permitted;
}

}  // namespace bld::runner
