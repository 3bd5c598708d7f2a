#include "runner/mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "runner/bind_mounts.h"
#include "runner/system_call.h"

namespace bld::runner {

namespace {

// Docker's sizes: 64 MiB for /dev (it holds only nodes and links) and for
// /dev/shm (Docker's default --shm-size).
constexpr const char* kDevTmpfsOptions = "mode=755,size=65536k";
constexpr const char* kShmTmpfsOptions = "mode=1777,size=65536k";
// gid 5 is the tty group of Debian, Alpine and Fedora images; 0620 lets a
// pty's owner and that group write to it, as on the host.
constexpr const char* kDevptsOptions = "newinstance,ptmxmode=0666,mode=0620,gid=5";
constexpr mode_t kDevDirMode = 0755;
constexpr mode_t kDeviceMode = 0666;

struct DefaultDevice {
  const char* name;
  unsigned major;
  unsigned minor;
};
// The character devices every container has (Linux's devices.txt numbers).
constexpr DefaultDevice kDevices[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

struct DevLink {
  const char* name;
  const char* target;
};
constexpr DevLink kDevLinks[] = {
    {"ptmx", "pts/ptmx"},          {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
};

// Docker's defaults (moby oci/defaults.go): /proc/asound since Docker 20.10,
// /sys/devices/virtual/powercap since Docker 24 (CVE-2020-8694: energy
// counters let a process infer what another computes).
constexpr const char* kMaskedPaths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
constexpr const char* kReadonlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
// The flags /proc is mounted with, kept when a part of it is made read-only.
constexpr unsigned long kProcFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

void Mount(const char* source, const std::string& target, const char* type, unsigned long flags, const char* data,
           const std::string& what) {
  CheckSys(::mount(source, target.c_str(), type, flags, data), "mount " + what + " at " + target);
}

void MakeDevDirectory(const std::string& path) {
  CheckSys(::mkdir(path.c_str(), kDevDirMode), "create directory " + path);
}

// mknod of one of the container's devices, replacing a default node of the
// same name; the directories on its way are made.
void MakeDevice(const std::string& root, const DeviceNode& device) {
  std::string path = root + device.path;
  for (size_t slash = root.size() + std::string_view("/dev/").size(); (slash = path.find('/', slash)) != std::string::npos;
       ++slash) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), kDevDirMode) != 0 && errno != EEXIST) throw RunnerSysError("create directory " + dir);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw RunnerSysError("replace device " + device.path);
  CheckSys(::mknod(path.c_str(), device.mode, makedev(device.major, device.minor)), "create device " + device.path);
  CheckSys(::chmod(path.c_str(), device.mode & 07777), "set the mode of " + device.path);
  CheckSys(::chown(path.c_str(), device.uid, device.gid), "set the owner of " + device.path);
}

size_t Depth(const std::string& path) { return static_cast<size_t>(std::count(path.begin(), path.end(), '/')); }

void MountTmpfs(const TmpfsMount& tmpfs) {
  MakeMountPoint(tmpfs.target, true);
  Mount("tmpfs", tmpfs.target, "tmpfs", tmpfs.flags, tmpfs.data.empty() ? nullptr : tmpfs.data.c_str(), "a tmpfs");
}

void MountDev(const std::string& dev) {
  Mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, kDevTmpfsOptions, "a tmpfs");
  MakeDevDirectory(dev + "/pts");
  Mount("devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC, kDevptsOptions, "devpts");
  MakeDevDirectory(dev + "/shm");
  Mount("shm", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, kShmTmpfsOptions, "a tmpfs");
  for (const DefaultDevice& device : kDevices) {
    std::string path = dev + "/" + device.name;
    CheckSys(::mknod(path.c_str(), S_IFCHR | kDeviceMode, makedev(device.major, device.minor)),
             "create device " + path);
    // mknod's mode is cut by the umask.
    CheckSys(::chmod(path.c_str(), kDeviceMode), "set the mode of " + path);
  }
  for (const DevLink& link : kDevLinks) {
    std::string path = dev + "/" + link.name;
    CheckSys(::symlink(link.target, path.c_str()), "create symlink " + path);
  }
}

}  // namespace

void MakeMountsPrivate() {
  CheckSys(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make the mounts of / private");
}

void MountRootfs(const RootfsPlan& plan) {
  const std::string& root = plan.rootfs;
  MountOverlay(plan.overlay, root);
  Mount("proc", root + "/proc", "proc", kProcFlags, nullptr, "proc");
  MountDev(root + "/dev");
  for (const DeviceNode& device : plan.devices) MakeDevice(root, device);
  Mount("sysfs", root + "/sys", "sysfs", (plan.writable_sysfs ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
        nullptr, "sysfs");
  for (const char* name : {"hosts", "hostname", "resolv.conf"}) {
    std::string source = plan.etc_files_dir + "/" + name;
    Mount(source.c_str(), root + "/etc/" + name, nullptr, MS_BIND, nullptr, source);
  }
}

void PivotRoot(const std::string& rootfs) {
  CheckSys(::chdir(rootfs.c_str()), "change directory to " + rootfs);
  // pivot_root(".", ".") stacks the old root on top of the new one, where a
  // lazy unmount of "." detaches it: no directory inside the new root is
  // needed to park the old one, so the image is not touched.
  CheckSys(::syscall(SYS_pivot_root, ".", "."), "pivot_root into " + rootfs);
  CheckSys(::umount2(".", MNT_DETACH), "detach the host's root");
  CheckSys(::chdir("/"), "change directory to the new root");
}

void MountVolumes(const std::vector<OpenBind>& binds, const std::vector<TmpfsMount>& tmpfs) {
  // Stable: among targets of one depth, volumes before tmpfs mounts, each in
  // the order given.
  std::vector<std::pair<size_t, size_t>> order;  // (depth, index: binds first, then tmpfs)
  for (size_t i = 0; i < binds.size(); ++i) order.emplace_back(Depth(binds[i].bind.target), i);
  for (size_t i = 0; i < tmpfs.size(); ++i) order.emplace_back(Depth(tmpfs[i].target), binds.size() + i);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [depth, index] : order) {
    if (index < binds.size()) {
      MountBind(binds[index]);
    } else {
      MountTmpfs(tmpfs[index - binds.size()]);
    }
  }
}

void MakeRootReadOnly() {
  CheckSys(::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr), "remount / read-only");
}

std::vector<std::string> MaskedPaths() { return {std::begin(kMaskedPaths), std::end(kMaskedPaths)}; }

std::vector<std::string> ReadonlyPaths() { return {std::begin(kReadonlyPaths), std::end(kReadonlyPaths)}; }

void MaskKernelPaths() {
  for (const char* path : kMaskedPaths) {
    struct stat st;
    if (::stat(path, &st) != 0) {
      if (errno == ENOENT) continue;
      throw RunnerSysError(std::string("inspect ") + path);
    }
    if (S_ISDIR(st.st_mode)) {
      Mount("tmpfs", path, "tmpfs", MS_RDONLY, nullptr, "an empty read-only tmpfs");
    } else {
      Mount("/dev/null", path, nullptr, MS_BIND, nullptr, "/dev/null");
    }
  }
  for (const char* path : kReadonlyPaths) {
    if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      throw RunnerSysError(std::string("bind ") + path + " onto itself");
    }
    CheckSys(::mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | kProcFlags, nullptr),
             std::string("remount ") + path + " read-only");
  }
}

}  // namespace bld::runner
