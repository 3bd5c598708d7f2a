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
// `--cap-add` and `--cap-drop` change that set by Docker's rules
// (TweakCapabilities), and `--privileged` gives every capability the kernel
// knows.
//
// Thread safety: LimitBoundingSet and SetCapabilities change the calling
// thread's credentials; the runner calls them in the container's
// single-threaded setup process. The others keep no state.
#pragma once

#include <linux/capability.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bld::runner {

inline constexpr uint64_t CapabilityBit(int capability) { return uint64_t{1} << capability; }

inline constexpr uint64_t kDefaultCapabilities =
    CapabilityBit(CAP_CHOWN) | CapabilityBit(CAP_DAC_OVERRIDE) | CapabilityBit(CAP_FSETID) | CapabilityBit(CAP_FOWNER) |
    CapabilityBit(CAP_MKNOD) | CapabilityBit(CAP_NET_RAW) | CapabilityBit(CAP_SETGID) | CapabilityBit(CAP_SETUID) |
    CapabilityBit(CAP_SETFCAP) | CapabilityBit(CAP_SETPCAP) | CapabilityBit(CAP_NET_BIND_SERVICE) |
    CapabilityBit(CAP_SYS_CHROOT) | CapabilityBit(CAP_KILL) | CapabilityBit(CAP_AUDIT_WRITE);

// "CAP_NET_RAW" for CAP_NET_RAW; empty for a number bld has no name for.
std::string_view CapabilityName(int capability);

// The number of a capability named as CapabilityName says, or -1.
int CapabilityNumber(std::string_view name);

// Docker's spelling of a --cap-add/--cap-drop value: upper case, with "CAP_"
// in front ("net_raw" -> "CAP_NET_RAW"); "ALL" stays "ALL". Throws bld::Error
// `unknown capability: "CAP_X"` for a name bld does not know.
std::string NormalizeCapability(std::string_view name);

// Every capability that bld knows and holds in its bounding set (on a normal
// host: every one the kernel knows): what a privileged container gets. A
// process cannot give what it does not have.
uint64_t AllCapabilities();

// Docker's rules for `--cap-add` and `--cap-drop` (normalized names) over
// `base`: ALL in `add` gives every capability but those dropped; otherwise
// ALL in `drop` gives only those added; otherwise `base` without the dropped
// ones, with the added ones.
uint64_t TweakCapabilities(uint64_t base, const std::vector<std::string>& add, const std::vector<std::string>& drop);

// The names of the capabilities in `set`, in number order.
std::vector<std::string> CapabilityNames(uint64_t set);

// Drops every capability outside `keep` from the bounding set, the limit of
// what the process and its children can ever regain. Needs CAP_SETPCAP.
void LimitBoundingSet(uint64_t keep);

// Sets the permitted and effective sets to `capabilities`, and empties the
// inheritable and ambient sets. Call after switching to the container's
// user: setgroups and setresuid need CAP_SETGID and CAP_SETUID, which the
// container may not keep, and a non-root user gets no capabilities (0), as
// in Docker, where only the bounding set limits what setuid programs gain.
void SetCapabilities(uint64_t capabilities);

}  // namespace bld::runner
