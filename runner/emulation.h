// Running another architecture's programs: QEMU user emulation through the
// kernel's binfmt_misc.
//
// A RUN step of a linux/arm64 image on an amd64 host execs arm64 binaries;
// the kernel runs them only if a binfmt_misc entry hands them to an
// emulator. Debian's qemu-user-static registers one per architecture with
// the F flag: the kernel opens the emulator when the entry is registered,
// so it need not exist inside the container's root filesystem. Without such
// an entry the exec fails with a bare "exec format error"; bld checks first
// and says what to install instead.
//
// The check reads the entries themselves, not their names: for each
// enabled "magic" entry, it tests the entry's magic and mask against an ELF
// header of the wanted architecture, as the kernel does.
//
// Thread-safety: pure functions over the files they read.
#pragma once

#include <optional>
#include <string>

#include "store/platform.h"

namespace bld::runner {

inline constexpr std::string_view kBinfmtMiscDir = "/proc/sys/fs/binfmt_misc";

// Whether this host runs `platform`'s programs without emulation.
bool RunsNatively(const store::Platform& platform);

// Why programs for `platform` cannot run here, or nullopt when they can
// (natively, or through a registered emulator with the F flag). The text
// names the platform, what is missing and the package to install. Only
// linux platforms whose ELF header bld knows are checked; others are
// assumed to run (the exec says otherwise).
std::optional<std::string> EmulationProblem(const store::Platform& platform,
                                            const std::string& binfmt_dir = std::string(kBinfmtMiscDir));

}  // namespace bld::runner
