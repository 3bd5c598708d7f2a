// The mount table of a container, built in its own mount namespace, in the
// order the kernel needs it:
//
//  1. MakeMountsPrivate: nothing mounted from now on propagates to the host
//     (on systemd hosts "/" is shared), and host mounts stop propagating in.
//  2. MountRootfs: the overlay root, then on it /proc; a tmpfs /dev with
//     null zero full random urandom tty, devpts at /dev/pts (a new instance,
//     so the container sees only its own ptys) and the /dev/ptmx, /dev/fd
//     and /dev/std{in,out,err} links; a tmpfs /dev/shm; a read-only sysfs at
//     /sys (writable for a privileged container); the generated /etc/hosts, /etc/hostname, /etc/resolv.conf bound
//     over the init layer's files. The targets all come from the init layer,
//     the topmost layer of a root whose upper dir is still empty, so none of
//     them can be a symlink leading out of the root.
//  3. PivotRoot: the overlay becomes "/", and the host's root is detached,
//     so no path inside leads to a host file.
//  4. MaskKernelPaths: Docker's masked paths (/proc/kcore, /proc/keys,
//     /sys/firmware, ...: empty or unreadable) and read-only paths
//     (/proc/sys, /proc/sysrq-trigger, ...). Without them, root in the
//     container could reboot the host with `echo b > /proc/sysrq-trigger`.
//     A privileged container (RunConfig::privileged) skips this step.
//
// Device nodes are made with mknod rather than bind-mounted from the host's
// /dev: the runner is real root (no user namespace), for which mknod in a
// tmpfs is allowed, and six nodes cost six mknods where binds would cost six
// files, six mounts, and six more entries to tear down.
//
// Every mount lives in the container's mount namespace only, so the kernel
// removes them all when the container's last process exits: the host never
// sees one, and no exit path of bld (an exception, Ctrl-C, kill -9) can leave
// one behind.
//
// Thread safety: the functions change the calling process's mount namespace
// and working directory; call them only in the container's setup process.
#pragma once

#include <string>

#include "runner/overlay.h"

namespace bld::runner {

struct RootfsPlan {
  OverlayLayers overlay;
  std::string rootfs;         // where the overlay is mounted
  std::string etc_files_dir;  // holds hosts, hostname and resolv.conf (WriteEtcFiles)
};

void MakeMountsPrivate();
// `writable_sysfs`: a privileged container's /sys is writable.
void MountRootfs(const RootfsPlan& plan, bool writable_sysfs);
void PivotRoot(const std::string& rootfs);
void MaskKernelPaths();

}  // namespace bld::runner
