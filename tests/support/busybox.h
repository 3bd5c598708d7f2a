// Test base images made locally from Debian's busybox-static: nothing is
// pulled from a registry in tests.
#pragma once

#include <string>

namespace bld::testing {

// Fills `dir` with a small root filesystem: /bin/busybox with a symlink per
// applet, /etc/passwd and /etc/group with root, a user `app` (1000:1000,
// also in group `extra` 1001) and nobody, and empty /tmp, /root, /home/app.
// Throws if /bin/busybox is not installed (scripts/install-deps.sh test).
void MakeBusyboxRootfs(const std::string& dir);

// Writes that root filesystem as a plain tar file at `tar_path`.
void MakeBusyboxTar(const std::string& tar_path);

}  // namespace bld::testing
