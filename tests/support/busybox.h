// Test base images made locally from Debian's busybox-static: nothing is
// pulled from a registry in tests.
#pragma once

#include <optional>
#include <string>

namespace bld::testing {

// Fills `dir` with a small root filesystem: /bin/busybox with a symlink per
// applet, /etc/passwd and /etc/group with root, a user `app` (1000:1000,
// also in group `extra` 1001) and nobody, and empty /tmp, /root, /home/app.
// Throws if /bin/busybox is not installed (scripts/install-deps.sh test).
// `busybox` is the binary to put in it: another architecture's gives that
// architecture's root filesystem (the applet list is the host's busybox's,
// the same Debian version).
void MakeBusyboxRootfs(const std::string& dir, const std::string& busybox = "/bin/busybox");

// Writes that root filesystem as a plain tar file at `tar_path`.
void MakeBusyboxTar(const std::string& tar_path, const std::string& busybox = "/bin/busybox");

// The busybox of another architecture ("arm64") that
// scripts/foreign-arch-setup.sh unpacks, if it is there.
std::optional<std::string> ForeignBusybox(const std::string& architecture);

}  // namespace bld::testing
