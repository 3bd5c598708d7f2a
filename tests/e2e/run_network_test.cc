// `bld run` networks: a namespace of its own by default (only lo, reached
// through published ports), none, host, and another container's.
#include <catch2/catch.hpp>
#include <string>

#include "support/container_fixture.h"
#include "support/registry_net.h"

using bld::testing::ContainerFixture;
using bld::testing::HttpGet;
using bld::testing::ProcessResult;
using bld::testing::RunShell;

namespace {

// The interface names `ip -o link` lists, sorted, one per line.
std::string Interfaces(const std::string& ip_output) {
  ProcessResult r = RunShell("printf '%s' '" + ip_output + "' | awk -F': ' '{print $2}' | sed 's/@.*//' | sort");
  return r.out;
}

}  // namespace

TEST_CASE("a container joined with --net container:<id> reaches the first on 127.0.0.1", "[e2e][run][net]") {
  ContainerFixture f;
  f.BldOk({"run", "-d", "--name", "server", "busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"});
  std::string page;
  // The server may not listen yet when the first wget runs.
  for (int attempt = 0; attempt < 50 && page.find("root:") == std::string::npos; ++attempt)
    page = f.Bld({"run", "--rm", "--net", "container:server", "busybox", "wget", "-q", "-O", "-",
                  "http://127.0.0.1:8080/passwd"})
               .out;
  CHECK(page.find("root:x:0:0") != std::string::npos);
}

TEST_CASE("run --net host sees the host's interfaces", "[e2e][run][net]") {
  ContainerFixture f;
  std::string inside = f.BldOk({"run", "--rm", "--net", "host", "busybox", "ip", "-o", "link"});
  CHECK(Interfaces(inside) == Interfaces(RunShell("ip -o link").out));
}

TEST_CASE("run --net none and the default network have only lo, and it is up", "[e2e][run][net]") {
  ContainerFixture f;
  for (const char* network : {"none", "default"}) {
    std::string inside = f.BldOk({"run", "--rm", "--net", network, "busybox", "ip", "-o", "link"});
    CHECK(Interfaces(inside) == "lo\n");
    CHECK(inside.find("UP") != std::string::npos);
  }
}

TEST_CASE("a published TCP port forwards each connection into the container", "[e2e][run][net]") {
  ContainerFixture f;
  int port = bld::testing::FreeLoopbackPort();
  f.BldOk({"run", "-d", "-p", "127.0.0.1:" + std::to_string(port) + ":80", "busybox", "httpd", "-f", "-p", "80", "-h",
           "/etc"});
  for (int i = 0; i < 3; ++i) CHECK(HttpGet(port, "/group").find("root:x:0:") != std::string::npos);
}

TEST_CASE("a host port already taken fails run before the container starts", "[e2e][run][net]") {
  ContainerFixture f;
  bld::testing::Listener taken = bld::testing::ListenLoopback();
  ProcessResult r =
      f.Bld({"run", "-d", "-p", "127.0.0.1:" + std::to_string(taken.port) + ":80", "busybox", "sleep", "100"});
  CHECK(r.exit_code == 125);
  CHECK(r.err.find("address already in use") != std::string::npos);
  CHECK(f.BldOk({"ps", "-q"}).empty());
}

TEST_CASE("publishing a port with --net host or none is refused", "[e2e][run][net]") {
  ContainerFixture f;
  for (const char* network : {"host", "none"}) {
    ProcessResult r = f.Bld({"run", "--rm", "--net", network, "-p", "8080:80", "busybox", "true"});
    CHECK(r.exit_code == 125);
    CHECK(r.err.find("port publishing") != std::string::npos);
  }
}
