/* Escape attempts for tests/e2e/container_escape_test.cc, one per argument:
 * each makes one raw system call a container should not be allowed to make
 * and prints "<name>: OK" or "<name>: <errno name>", so that bld's result can
 * be compared with podman's. Nothing it tries harms the host when it
 * succeeds: keys go to the process keyring, reboot only asks to turn off
 * Ctrl-Alt-Del (after the capability check), a device node is only opened,
 * /proc/sysrq-trigger is opened, never written.
 * Each test runs in a child process of its own.
 * Built with `cc -static` by tests/CMakeLists.txt and copied into a busybox
 * image by the tests. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void report(const char *name, long result) {
  if (result < 0) {
    const char *errno_name = strerrorname_np(errno);
    printf("%s: %s\n", name, errno_name ? errno_name : "unknown errno");
  } else {
    printf("%s: OK\n", name);
  }
}

/* Reads the first bytes of a file: "empty" when it reads as empty. */
static void read_file(const char *name, const char *path) {
  char buffer[64];
  int fd = open(path, O_RDONLY);
  if (fd < 0) return report(name, -1);
  ssize_t n = read(fd, buffer, sizeof buffer);
  close(fd);
  if (n == 0) {
    printf("%s: empty\n", name);
    return;
  }
  report(name, n);
}

static long clone_newuser(void) {
  long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}

static long bpf_map(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  return syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
}

static long perf_event(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static long open_by_handle(void) {
  struct {
    struct file_handle handle;
    unsigned char bytes[8];
  } h;
  memset(&h, 0, sizeof h);
  h.handle.handle_bytes = 8;
  h.handle.handle_type = 1;
  int root = open("/", O_RDONLY | O_DIRECTORY);
  long fd = syscall(SYS_open_by_handle_at, root, &h.handle, O_RDONLY);
  close(root);
  return fd;
}

/* argv "node c|b MAJOR:MINOR": mknod a device node, then open it for
 * writing (/dev/kmsg, 1:11, opens so without any capability, and writes
 * nothing until written to). */
static void device_node(const char *type, const char *spec) {
  unsigned major_number = 0, minor_number = 0;
  sscanf(spec, "%u:%u", &major_number, &minor_number);
  const char *path = "/tmp/bld-probe-node";
  unlink(path);
  mode_t kind = type[0] == 'b' ? S_IFBLK : S_IFCHR;
  if (mknod(path, kind | 0600, makedev(major_number, minor_number)) != 0) return report("mknod", -1);
  report("mknod", 0);
  int fd = open(path, O_WRONLY | O_NONBLOCK);
  report("open-node", fd);
  if (fd >= 0) close(fd);
  unlink(path);
}

/* Runs test `t` (with its `args`); returns 2 for an unknown test. */
static int run_test(const char *t, char **args) {
  if (!strcmp(t, "unshare-user")) report(t, unshare(CLONE_NEWUSER));
  else if (!strcmp(t, "unshare-mount")) report(t, unshare(CLONE_NEWNS));
  else if (!strcmp(t, "clone-newuser")) report(t, clone_newuser());
  else if (!strcmp(t, "clone3")) report(t, syscall(SYS_clone3, NULL, 0));
  else if (!strcmp(t, "keyctl")) report(t, syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  else if (!strcmp(t, "add_key")) report(t, syscall(SYS_add_key, "user", "bld-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
  else if (!strcmp(t, "mount")) report(t, mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
  else if (!strcmp(t, "swapon")) report(t, syscall(SYS_swapon, "/bld-probe-swap", 0));
  else if (!strcmp(t, "reboot"))
    report(t, syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL));
  else if (!strcmp(t, "kexec_load")) report(t, syscall(SYS_kexec_load, 0, 0, NULL, 0));
  else if (!strcmp(t, "open_by_handle_at")) report(t, open_by_handle());
  else if (!strcmp(t, "bpf")) report(t, bpf_map());
  else if (!strcmp(t, "perf_event_open")) report(t, perf_event());
  else if (!strcmp(t, "personality")) report(t, personality(ADDR_NO_RANDOMIZE));
  else if (!strcmp(t, "socket-vsock")) report(t, socket(AF_VSOCK, SOCK_STREAM, 0));
  else if (!strcmp(t, "socket-raw")) report(t, socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
  else if (!strcmp(t, "sysrq-trigger")) report(t, open("/proc/sysrq-trigger", O_WRONLY));
  else if (!strcmp(t, "kcore")) read_file(t, "/proc/kcore");
  else if (!strcmp(t, "keys")) read_file(t, "/proc/keys");
  else if (!strcmp(t, "euid")) printf("euid: %d\n", (int)geteuid());
  else if (!strcmp(t, "open-write")) {
    char name[256];
    snprintf(name, sizeof name, "open-write %s", args[0]);
    report(name, open(args[0], O_WRONLY | O_NONBLOCK));
  }
  else if (!strcmp(t, "read")) {
    char name[256];
    snprintf(name, sizeof name, "read %s", args[0]);
    read_file(name, args[0]);
  }
  else if (!strcmp(t, "node")) device_node(args[0], args[1]);
  else {
    fprintf(stderr, "probe: unknown test %s\n", t);
    return 2;
  }
  return 0;
}

/* How many arguments test `t` takes after its name. */
static int argument_count(const char *t) {
  if (!strcmp(t, "open-write") || !strcmp(t, "read")) return 1;
  if (!strcmp(t, "node")) return 2;
  return 0;
}

/* Each test runs in a child of its own: one that succeeds may change the
 * process (unshare moves it into new namespaces, where the next test would
 * have every capability), and one the filter kills must not end the rest. */
int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    const char *t = argv[i];
    int extra = argument_count(t);
    if (i + extra >= argc) {
      fprintf(stderr, "probe: %s needs %d arguments\n", t, extra);
      return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
      perror("probe: fork");
      return 1;
    }
    if (pid == 0) {
      errno = 0;
      int code = run_test(t, argv + i + 1);
      fflush(stdout);
      _exit(code);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) {
      perror("probe: waitpid");
      return 1;
    }
    if (WIFSIGNALED(status)) printf("%s: killed by %s\n", t, sigabbrev_np(WTERMSIG(status)));
    else if (WEXITSTATUS(status) != 0) return WEXITSTATUS(status);
    i += extra;
  }
  return 0;
}
