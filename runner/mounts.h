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
//     The devices a container is given (`--device`, or every host device
//     with `--privileged`) are made in that /dev beside the default ones.
//  3. PivotRoot: the overlay becomes "/", and the host's root is detached,
//     so no path inside leads to a host file.
//  4. MountVolumes: the binds (bind_mounts.h) and `--tmpfs` mounts, shallow
//     targets first, as Docker orders them, so that `-v /x:/run/x --tmpfs
//     /run` keeps the volume visible.
//  5. MaskKernelPaths: Docker's masked paths (/proc/kcore, /proc/keys,
//     /sys/firmware, ...: empty or unreadable) and read-only paths
//     (/proc/sys, /proc/sysrq-trigger, ...). Without them, root in the
//     container could reboot the host with `echo b > /proc/sysrq-trigger`.
//     A privileged container (and `--security-opt systempaths=unconfined`)
//     has neither, as in Docker.
//  6. MakeRootReadOnly, for `--read-only`: the root becomes a read-only
//     mount; /dev, /dev/shm, /proc, volumes, tmpfs mounts and the /etc files
//     are mounts of their own and stay as they are.
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

#include <sys/types.h>

#include <string>
#include <vector>

#include "runner/overlay.h"

namespace bld::runner {

struct OpenBind;  // bind_mounts.h

// `--tmpfs PATH[:OPTIONS]`, its options as mount(2) takes them.
struct TmpfsMount {
  std::string target;
  unsigned long flags = 0;  // MS_*
  std::string data;         // size=, mode=, ...

  friend bool operator==(const TmpfsMount&, const TmpfsMount&) = default;
};

// A device node made in the container's /dev.
struct DeviceNode {
  std::string path;  // absolute, under /dev
  mode_t mode = 0;   // S_IFCHR or S_IFBLK and the permission bits
  unsigned major = 0;
  unsigned minor = 0;
  uid_t uid = 0;
  gid_t gid = 0;

  friend bool operator==(const DeviceNode&, const DeviceNode&) = default;
};

struct RootfsPlan {
  OverlayLayers overlay;
  std::string rootfs;         // where the overlay is mounted
  std::string etc_files_dir;  // holds hosts, hostname and resolv.conf (WriteEtcFiles)
  // What the container's security options (container_security.h) change.
  bool writable_sysfs = false;      // --privileged
  bool mask_kernel_paths = true;    // false: --privileged, systempaths=unconfined
  bool read_only = false;           // --read-only
  std::vector<TmpfsMount> tmpfs;    // --tmpfs
  std::vector<DeviceNode> devices;  // --device; every host device with --privileged
};

void MakeMountsPrivate();
void MountRootfs(const RootfsPlan& plan);
void PivotRoot(const std::string& rootfs);
void MountVolumes(const std::vector<OpenBind>& binds, const std::vector<TmpfsMount>& tmpfs);
void MaskKernelPaths();
void MakeRootReadOnly();

// What MaskKernelPaths masks and makes read-only: Docker's lists.
std::vector<std::string> MaskedPaths();
std::vector<std::string> ReadonlyPaths();

}  // namespace bld::runner
