// The capabilities of a container process: Docker's default set, nothing
// more, unless it is privileged (RUN --security=insecure): then all of bld's.
//
// Root in a container without a user namespace is root on the host, held
// back only by what it may not do: no CAP_SYS_ADMIN (mount, pivot back out),
// no CAP_SYS_MODULE, no CAP_NET_ADMIN, ... The set is Docker's default,
// which RUN steps and images are written against:
//   CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
//   SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE
// as the bounding, permitted and effective sets. The inheritable and ambient
// sets are empty: Docker gave inheritable the default set until
// CVE-2022-24769, which showed that a non-root process could then gain them
// by exec'ing a program with inheritable file capabilities. no_new_privs is
// left unset, as Docker leaves it, so setuid programs (sudo, su) work.
//
// Thread safety: the functions change the calling thread's credentials; the
// runner calls them in the container's single-threaded setup process.
#pragma once

#include <linux/capability.h>

#include <cstdint>

namespace bld::runner {

inline constexpr uint64_t CapabilityBit(int capability) { return uint64_t{1} << capability; }

inline constexpr uint64_t kDefaultCapabilities =
    CapabilityBit(CAP_CHOWN) | CapabilityBit(CAP_DAC_OVERRIDE) | CapabilityBit(CAP_FSETID) | CapabilityBit(CAP_FOWNER) |
    CapabilityBit(CAP_MKNOD) | CapabilityBit(CAP_NET_RAW) | CapabilityBit(CAP_SETGID) | CapabilityBit(CAP_SETUID) |
    CapabilityBit(CAP_SETFCAP) | CapabilityBit(CAP_SETPCAP) | CapabilityBit(CAP_NET_BIND_SERVICE) |
    CapabilityBit(CAP_SYS_CHROOT) | CapabilityBit(CAP_KILL) | CapabilityBit(CAP_AUDIT_WRITE);

// Drops every capability outside `keep` from the bounding set, the limit of
// what the process and its children can ever regain. Needs CAP_SETPCAP.
void LimitBoundingSet(uint64_t keep);

// Sets the permitted and effective sets to `capabilities`, and empties the
// inheritable and ambient sets.
void SetCapabilities(uint64_t capabilities);

// The calling thread's permitted set: every capability a privileged
// container (RUN --security=insecure) gets, as bld holds them.
uint64_t PermittedCapabilities();

}  // namespace bld::runner
