#include "runner/port_forwarder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "runner/network.h"
#include "support/registry_net.h"

namespace bld::testing {
namespace {

using runner::PortForwarder;
using runner::PortMapping;
using runner::UniqueFd;

// The port the servers listen on inside the namespace.
constexpr uint16_t kInsidePort = 7777;

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A network namespace of its own, made by a thread (unshare moves only the
// calling thread), with a socket of `type` bound to 127.0.0.1:kInsidePort in
// it; both descriptors outlive the thread.
struct Namespace {
  UniqueFd netns;
  UniqueFd server;
};

Namespace MakeNamespace(int type) {
  Namespace ns;
  std::thread([&] {
    REQUIRE(::unshare(CLONE_NEWNET) == 0);
    runner::BringUpLoopback();
    ns.netns = UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    ns.server = UniqueFd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    sockaddr_in address = Loopback(kInsidePort);
    REQUIRE(::bind(ns.server.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    if (type == SOCK_STREAM) REQUIRE(::listen(ns.server.get(), 4) == 0);
  }).join();
  return ns;
}

TEST_CASE("port specs parse as docker's: [IP:]HOST:CTR[/tcp|/udp]") {
  CHECK(runner::ParsePortMapping("4000:80") == PortMapping{"", 4000, 80, "tcp"});
  CHECK(runner::ParsePortMapping("127.0.0.1:53:5353/udp") == PortMapping{"127.0.0.1", 53, 5353, "udp"});
  CHECK_THROWS_WITH(runner::ParsePortMapping("80"), Catch::Contains("HOST:CONTAINER"));
  CHECK_THROWS_WITH(runner::ParsePortMapping("1:2/sctp"), Catch::Contains("Invalid proto"));
  CHECK_THROWS_WITH(runner::ParsePortMapping("0:80"), Catch::Contains("Invalid port"));
  CHECK_THROWS_WITH(runner::ParsePortMapping("host:1:2"), Catch::Contains("Invalid ip address"));
}

TEST_CASE("a TCP connection to the host port is opened inside the namespace and relayed both ways") {
  Namespace ns = MakeNamespace(SOCK_STREAM);
  int port = FreeLoopbackPort();
  PortForwarder forwarder({{"127.0.0.1", static_cast<uint16_t>(port), kInsidePort, "tcp"}});
  forwarder.Start(std::move(ns.netns));
  auto server = std::async(std::launch::async, [&] {
    UniqueFd connection(::accept4(ns.server.get(), nullptr, nullptr, SOCK_CLOEXEC));
    char buffer[16];
    ssize_t n = ::read(connection.get(), buffer, sizeof buffer);
    std::string got(buffer, static_cast<size_t>(std::max<ssize_t>(n, 0)));
    std::string reply = "re:" + got;
    REQUIRE(::write(connection.get(), reply.data(), reply.size()) == static_cast<ssize_t>(reply.size()));
    return got;
  });
  Socket client = ConnectLoopback(port);
  REQUIRE(client.valid());
  REQUIRE(WriteAll(client.fd(), "hello"));
  ::shutdown(client.fd(), SHUT_WR);
  std::string reply;
  char buffer[16];
  ssize_t n;
  while ((n = ::read(client.fd(), buffer, sizeof buffer)) > 0) reply.append(buffer, static_cast<size_t>(n));
  CHECK(server.get() == "hello");
  CHECK(reply == "re:hello");
}

TEST_CASE("UDP datagrams reach the namespace and replies reach the client that sent them") {
  Namespace ns = MakeNamespace(SOCK_DGRAM);
  int port = FreeLoopbackPort();
  PortForwarder forwarder({{"127.0.0.1", static_cast<uint16_t>(port), kInsidePort, "udp"}});
  forwarder.Start(std::move(ns.netns));
  auto echo = std::async(std::launch::async, [&] {
    char buffer[64];
    sockaddr_in from{};
    socklen_t length = sizeof from;
    ssize_t n = ::recvfrom(ns.server.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
    REQUIRE(n > 0);
    ::sendto(ns.server.get(), buffer, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), length);
  });
  UniqueFd client(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in target = Loopback(static_cast<uint16_t>(port));
  REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&target), sizeof target) == 0);
  REQUIRE(::send(client.get(), "ping", 4, 0) == 4);
  echo.get();
  char buffer[64];
  ssize_t n = ::recv(client.get(), buffer, sizeof buffer, 0);
  CHECK(std::string(buffer, static_cast<size_t>(std::max<ssize_t>(n, 0))) == "ping");
}

TEST_CASE("a host port that is taken fails when the forwarder is made") {
  Listener taken = ListenLoopback();
  CHECK_THROWS_WITH(PortForwarder({{"127.0.0.1", static_cast<uint16_t>(taken.port), 80, "tcp"}}),
                    Catch::Contains("address already in use"));
}

}  // namespace
}  // namespace bld::testing
