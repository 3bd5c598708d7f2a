// Volumes and bind mounts: where writes land, what a commit keeps, and the
// volume commands.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/container_fixture.h"

using bld::testing::ContainerFixture;
using bld::testing::ProcessResult;
using bld::testing::ReadFile;

TEST_CASE("run -v /test is an anonymous volume under <root>/volumes/<id>/_data", "[e2e][run][volume]") {
  ContainerFixture f;
  f.BldOk({"run", "--name", "c", "-v", "/test", "busybox", "sh", "-c", "echo hi > /test/file"});
  std::string volume = f.BldOk({"volume", "ls", "-q"});
  REQUIRE(volume.size() == 64);
  CHECK(ReadFile(f.root() + "/volumes/" + volume + "/_data/file") == "hi\n");
}

TEST_CASE("run -v <host dir>:/test writes show on the host path", "[e2e][run][volume]") {
  ContainerFixture f;
  std::string host = f.dir() / "host";
  std::filesystem::create_directories(host);
  f.BldOk({"run", "--rm", "-v", host + ":/test", "busybox", "sh", "-c", "echo hi > /test/file"});
  CHECK(ReadFile(host + "/file") == "hi\n");
}

TEST_CASE("after a commit a volume's mount point is an empty directory in the image", "[e2e][run][volume]") {
  ContainerFixture f;
  std::string host = f.dir() / "host";
  std::filesystem::create_directories(host);
  f.BldOk({"run", "--name", "c", "-v", "/test", "-v", host + ":/bound", "busybox", "sh", "-c",
           "echo a > /test/a; echo b > /bound/b; echo c > /kept"});
  f.BldOk({"commit", "c", "committed"});
  CHECK(f.BldOk({"run", "--rm", "committed", "sh", "-c", "ls -A /test /bound; cat /kept"}) == "/bound:\n\n/test:\nc");
}

TEST_CASE("a new volume starts with the image's content at its path", "[e2e][run][volume]") {
  ContainerFixture f;
  CHECK(f.BldOk({"run", "--rm", "-v", "data:/etc", "busybox", "cat", "/etc/group"}).find("root:x:0:") !=
        std::string::npos);
  // Filled once: the volume keeps what was written, not the image's again.
  f.BldOk({"run", "--rm", "-v", "data:/etc", "busybox", "rm", "/etc/group"});
  CHECK(f.Bld({"run", "--rm", "-v", "data:/etc", "busybox", "cat", "/etc/group"}).exit_code == 1);
}

TEST_CASE("a named volume outlives its containers and rm -v removes only anonymous ones", "[e2e][run][volume]") {
  ContainerFixture f;
  f.BldOk({"run", "--name", "c", "-v", "named:/a", "-v", "/b", "busybox", "sh", "-c", "echo x > /a/x"});
  f.BldOk({"rm", "-v", "c"});
  CHECK(f.BldOk({"volume", "ls", "-q"}) == "named");
  CHECK(f.BldOk({"run", "--rm", "-v", "named:/a", "busybox", "cat", "/a/x"}) == "x");
}

TEST_CASE("run --rm removes the container and its anonymous volumes", "[e2e][run][volume]") {
  ContainerFixture f;
  f.BldOk({"run", "--rm", "-v", "/b", "busybox", "true"});
  CHECK(f.BldOk({"volume", "ls", "-q"}).empty());
  CHECK(f.BldOk({"ps", "-a", "-q"}).empty());
}

TEST_CASE("a :ro mount cannot be written", "[e2e][run][volume]") {
  ContainerFixture f;
  std::string host = f.dir() / "host";
  std::filesystem::create_directories(host);
  ProcessResult r = f.Bld({"run", "--rm", "-v", host + ":/ro:ro", "busybox", "touch", "/ro/x"});
  CHECK(r.exit_code == 1);
  CHECK(!std::filesystem::exists(host + "/x"));
}

TEST_CASE("volume create, inspect, ls and rm", "[e2e][volume]") {
  ContainerFixture f;
  CHECK(f.BldOk({"volume", "create", "v1"}) == "v1");
  CHECK(f.BldOk({"volume", "inspect", "v1"}).find("\"Mountpoint\": \"" + f.root() + "/volumes/v1/_data\"") !=
        std::string::npos);
  CHECK(f.BldOk({"volume", "ls"}) == "DRIVER    VOLUME NAME\nlocal     v1");
  f.BldOk({"run", "--name", "user", "-v", "v1:/v", "busybox", "true"});
  ProcessResult in_use = f.Bld({"volume", "rm", "v1"});
  CHECK(in_use.exit_code == 1);
  CHECK(in_use.err.find("volume is in use") != std::string::npos);
  f.BldOk({"rm", "user"});
  CHECK(f.BldOk({"volume", "rm", "v1"}) == "v1");
  CHECK(!std::filesystem::exists(f.root() + "/volumes/v1"));
}

TEST_CASE("an image's VOLUME gets an anonymous volume filled from the image", "[e2e][run][volume]") {
  ContainerFixture f;
  bld::testing::WriteFile(f.dir() / "ctx/Dockerfile",
                          "FROM busybox\nRUN mkdir /data && echo seed > /data/s\nVOLUME /data\n");
  f.BldOk({"build", "-q", "-t", "withvolume", f.dir() / "ctx"});
  f.BldOk({"run", "--name", "c", "withvolume", "sh", "-c", "echo new > /data/n"});
  std::string volume = f.BldOk({"volume", "ls", "-q"});
  REQUIRE(volume.size() == 64);
  CHECK(ReadFile(f.root() + "/volumes/" + volume + "/_data/s") == "seed\n");
  CHECK(ReadFile(f.root() + "/volumes/" + volume + "/_data/n") == "new\n");
}
