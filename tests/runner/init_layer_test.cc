#include "runner/init_layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;

struct stat Stat(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

void MakeDir(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
  fs::create_directories(path);
  REQUIRE(::chown(path.c_str(), uid, gid) == 0);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

TEST_CASE("the init layer holds the mount points and empty files the runner mounts over") {
  TempDir lower, init;
  runner::CreateInitLayer(init.path(), {lower.path()});
  for (const char* dir : {"proc", "sys", "dev", "dev/pts", "dev/shm", "etc"}) {
    struct stat st = Stat(init / dir);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 07777) == 0755);
    CHECK(st.st_uid == 0);
  }
  for (const char* file : {"etc/hosts", "etc/resolv.conf", "etc/hostname"}) {
    struct stat st = Stat(init / file);
    CHECK(S_ISREG(st.st_mode));
    CHECK(st.st_size == 0);
  }
}

TEST_CASE("init layer directories copy the image's mode, owner, xattrs and times") {
  TempDir top, bottom, init;
  MakeDir(bottom / "etc", 02750, 12, 34);
  REQUIRE(::setxattr((bottom / "etc").c_str(), "user.origin", "image", 5, 0) == 0);
  REQUIRE(::setxattr((bottom / "etc").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  timespec times[2] = {{1000, 0}, {2000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, (bottom / "etc").c_str(), times, 0) == 0);

  runner::CreateInitLayer(init.path(), {top.path(), bottom.path()});
  struct stat st = Stat(init / "etc");
  CHECK((st.st_mode & 07777) == 02750);
  CHECK(st.st_uid == 12);
  CHECK(st.st_gid == 34);
  CHECK(st.st_mtim.tv_sec == 2000);
  char value[16] = {};
  CHECK(::getxattr((init / "etc").c_str(), "user.origin", value, sizeof value) == 5);
  CHECK(std::string(value) == "image");
  // overlayfs's own attributes stay behind: an opaque /etc here would hide the image's.
  CHECK(::getxattr((init / "etc").c_str(), "trusted.overlay.opaque", value, sizeof value) < 0);
}

TEST_CASE("the topmost layer that has a directory decides its attributes") {
  TempDir top, bottom, init;
  MakeDir(top / "dev", 0711, 0, 0);
  MakeDir(bottom / "dev", 0700, 5, 5);
  runner::CreateInitLayer(init.path(), {top.path(), bottom.path()});
  CHECK((Stat(init / "dev").st_mode & 07777) == 0711);
  CHECK(Stat(init / "dev").st_uid == 0);
}

TEST_CASE("a whiteout or an opaque parent above hides the image's directory") {
  TempDir top, bottom, init;
  REQUIRE(::mknod((top / "etc").c_str(), S_IFCHR | 0600, makedev(0, 0)) == 0);
  MakeDir(top / "dev", 0711, 0, 0);
  REQUIRE(::setxattr((top / "dev").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  MakeDir(bottom / "etc", 0700, 7, 7);
  MakeDir(bottom / "dev/pts", 0700, 7, 7);
  runner::CreateInitLayer(init.path(), {top.path(), bottom.path()});
  CHECK((Stat(init / "etc").st_mode & 07777) == 0755);
  CHECK(Stat(init / "etc").st_uid == 0);
  CHECK((Stat(init / "dev/pts").st_mode & 07777) == 0755);
  CHECK(Stat(init / "dev/pts").st_uid == 0);
}

}  // namespace
}  // namespace bld::testing
