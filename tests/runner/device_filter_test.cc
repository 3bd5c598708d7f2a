// The cgroup v2 device filter: a BPF program that lets the processes of a
// cgroup make and open only the devices its rules name. Run against the
// host's cgroup v2 hierarchy in a cgroup of the test's own.
#include "runner/device_filter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "support/process.h"

namespace bld::testing {
namespace {

using runner::DeviceRule;

// A cgroup of this test's own in the v2 hierarchy, removed afterwards.
class TestCgroup {
 public:
  TestCgroup() {
    std::string hierarchy = runner::UnifiedHierarchy();
    REQUIRE_FALSE(hierarchy.empty());
    dir_ = hierarchy + "/bld-device-filter-test-" + std::to_string(::getpid());
    REQUIRE(::mkdir(dir_.c_str(), 0755) == 0);
  }
  ~TestCgroup() { ::rmdir(dir_.c_str()); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// What a process in `cgroup` gets: 0 when the call succeeds, else its errno.
// The child makes only async-signal-safe calls after fork().
int InCgroup(const TestCgroup& cgroup, int (*probe)(const char*), const std::string& arg) {
  std::string procs = cgroup.dir() + "/cgroup.procs";
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = ::open(procs.c_str(), O_WRONLY);
    if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(255);
    ::close(fd);
    ::_exit(probe(arg.c_str()));
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) != 255);
  return WEXITSTATUS(status);
}

int OpenRead(const char* path) {
  int fd = ::open(path, O_RDONLY);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

int OpenWrite(const char* path) {
  int fd = ::open(path, O_WRONLY);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// mknod of the host's first disk (b 8:0) at `path`, then an open of it.
int MakeAndOpenDisk(const char* path) {
  if (::mknod(path, S_IFBLK | 0600, makedev(8, 0)) != 0) return errno;
  return OpenRead(path) == 0 ? 0 : 100 + OpenRead(path);
}

TEST_CASE("the device filter lets a cgroup open only the devices its rules allow") {
  TestCgroup cgroup;
  runner::AttachDeviceFilter(cgroup.dir(), {{'c', 1, 3, "rwm"}, {'c', 1, 5, "r"}});
  CHECK(InCgroup(cgroup, OpenWrite, "/dev/null") == 0);
  CHECK(InCgroup(cgroup, OpenRead, "/dev/zero") == 0);
  CHECK(InCgroup(cgroup, OpenWrite, "/dev/zero") == EPERM);  // r only
  CHECK(InCgroup(cgroup, OpenRead, "/dev/full") == EPERM);   // no rule
  CHECK(InCgroup(cgroup, OpenRead, "/etc/hostname") == 0);   // not a device
}

TEST_CASE("Docker's default device rules: any node may be made, a disk not opened") {
  TestCgroup cgroup;
  TempDir dir;
  runner::AttachDeviceFilter(cgroup.dir(), runner::DefaultDeviceRules());
  CHECK(InCgroup(cgroup, MakeAndOpenDisk, dir.path() + "/sda") == 100 + EPERM);
  CHECK(InCgroup(cgroup, OpenWrite, "/dev/full") == 0);
  CHECK(InCgroup(cgroup, OpenRead, "/dev/urandom") == 0);
}

TEST_CASE("without an m rule a node cannot even be made") {
  TestCgroup cgroup;
  TempDir dir;
  runner::AttachDeviceFilter(cgroup.dir(), {{'c', 1, 3, "rw"}});
  CHECK(InCgroup(cgroup, MakeAndOpenDisk, dir.path() + "/sda") == EPERM);
  CHECK(InCgroup(cgroup, OpenRead, "/dev/null") == 0);
}

TEST_CASE("each rule becomes one block of the program that returns 1, the program ends returning 0") {
  std::vector<bpf_insn> all = runner::DeviceFilterProgram({{'a', -1, -1, "rwm"}});
  // Six loads of the context, the rule's `return 1` (mov, exit), `return 0`.
  CHECK(all.size() == 6 + 2 + 2);
  std::vector<bpf_insn> one = runner::DeviceFilterProgram({{'c', 1, 3, "r"}});
  // type, access (mov, and, jump), major, minor, return 1.
  REQUIRE(one.size() == 6 + 1 + 3 + 1 + 1 + 2 + 2);
  for (size_t i = 6; i < 6 + 7; ++i)
    if (BPF_CLASS(one[i].code) == BPF_JMP && BPF_OP(one[i].code) == BPF_JNE)
      CHECK(i + 1 + static_cast<size_t>(one[i].off) == 6 + 8);  // every miss lands on the final return 0
}

}  // namespace
}  // namespace bld::testing
