// `bld run`'s options: the command (ENTRYPOINT and CMD as docker combines
// them), environment, user, working directory, hostname, stdin, -t, and
// inspect and commit of what it made.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "support/container_fixture.h"
#include "support/registry_net.h"

using bld::testing::ContainerFixture;
using bld::testing::ProcessResult;
using bld::testing::WriteFile;

TEST_CASE("ENTRYPOINT and CMD combine as docker's: args replace CMD, --entrypoint drops it", "[e2e][run]") {
  ContainerFixture f;
  WriteFile(f.dir() / "ctx/Dockerfile", "FROM busybox\nENTRYPOINT [\"echo\", \"entry\"]\nCMD [\"default\"]\n");
  f.BldOk({"build", "-q", "-t", "ep", f.dir() / "ctx"});
  CHECK(f.BldOk({"run", "--rm", "ep"}) == "entry default");
  CHECK(f.BldOk({"run", "--rm", "ep", "given", "-n"}) == "entry given -n");
  CHECK(f.BldOk({"run", "--rm", "--entrypoint", "hostname", "ep"}).size() == 12);
  CHECK(f.Bld({"run", "--rm", "busybox"}).err.find("no command specified") != std::string::npos);
}

TEST_CASE("run -e, --env-file, -u, -w and -h reach the command", "[e2e][run]") {
  ContainerFixture f;
  WriteFile(f.dir() / "env", "# comment\nFROM_FILE=f\nBOTH=file\n");
  std::string out = f.BldOk({"run", "--rm", "--env-file", f.dir() / "env", "-e", "BOTH=flag", "-u", "app:extra", "-w",
                             "/made/here", "-h", "myhost", "busybox", "sh", "-c",
                             "echo $FROM_FILE $BOTH $(id -u):$(id -g) $(pwd) $(hostname) $HOME"});
  CHECK(out == "f flag 1000:1001 /made/here myhost /home/app");
}

TEST_CASE("run -i passes stdin; without it the command reads an empty stdin", "[e2e][run]") {
  ContainerFixture f;
  CHECK(f.BldOk({"run", "--rm", "-i", "busybox", "cat"}, "in\n") == "in");
  CHECK(f.BldOk({"run", "--rm", "busybox", "cat"}, "in\n").empty());
}

TEST_CASE("run -t gives a terminal from the container's own devpts", "[e2e][run]") {
  ContainerFixture f;
  std::string out = f.BldOk({"run", "--rm", "-t", "busybox", "tty"});
  CHECK(out == "/dev/pts/0\r");
}

TEST_CASE("inspect falls back to a container and shows its state, ports and mounts", "[e2e][run]") {
  ContainerFixture f;
  std::string port = std::to_string(bld::testing::FreeLoopbackPort());
  std::string id =
      f.BldOk({"run", "-d", "--name", "web", "-p", port + ":80", "-v", "/data", "busybox", "sleep", "3135"});
  auto json = nlohmann::json::parse(f.BldOk({"inspect", "web"}));
  CHECK(json[0]["Id"] == id);
  CHECK(json[0]["Name"] == "/web");
  CHECK(json[0]["State"]["Status"] == "running");
  CHECK(json[0]["State"]["Pid"].get<int>() > 0);
  CHECK(json[0]["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"] == port);
  CHECK(json[0]["Mounts"][0]["Destination"] == "/data");
  CHECK(f.Bld({"inspect", "nothing-by-this-name"}).exit_code == 1);
}

TEST_CASE("commit -c changes the config and -m writes the history comment", "[e2e][run]") {
  ContainerFixture f;
  f.BldOk({"run", "--name", "c", "busybox", "true"});
  f.BldOk({"commit", "-m", "my message", "-c", "CMD [\"echo\", \"changed\"]", "-c", "ENV ADDED=yes", "c", "changed"});
  CHECK(f.BldOk({"run", "--rm", "changed"}) == "changed");
  CHECK(f.BldOk({"run", "--rm", "changed", "sh", "-c", "echo $ADDED"}) == "yes");
  CHECK(f.BldOk({"history", "changed"}).find("my message") != std::string::npos);
  CHECK(f.Bld({"commit", "-c", "RUN true", "c", "bad"}).err.find("not a valid change command") != std::string::npos);
}

TEST_CASE("run pulls an image that is not local", "[e2e][run]") {
  ContainerFixture f;
  ProcessResult r = f.Bld({"run", "--rm", "127.0.0.1:1/nothing:here", "true"});
  CHECK(r.exit_code == 125);
  CHECK(r.err.find("Unable to find image '127.0.0.1:1/nothing:here' locally") != std::string::npos);
}
