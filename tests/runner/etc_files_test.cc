#include "runner/etc_files.h"

#include <catch2/catch.hpp>

namespace bld::runner {
namespace {

TEST_CASE("/etc/hosts names localhost and the container's hostname") {
  CHECK(HostsFileContent("box") == "127.0.0.1\tlocalhost box\n::1\tlocalhost ip6-localhost ip6-loopback\n");
}

TEST_CASE("with the host's network, resolv.conf is the host's as it is") {
  const std::string host = "nameserver 127.0.0.53\noptions edns0\nsearch example.com\n";
  CHECK(ResolvConfContent(host, true) == host);
}

TEST_CASE("with a network of its own, loopback nameservers are dropped and others kept") {
  CHECK(ResolvConfContent("search corp\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\n", false) ==
        "search corp\nnameserver 10.0.0.2\n");
}

TEST_CASE("with no reachable nameserver left, Docker's defaults are used") {
  CHECK(ResolvConfContent("nameserver 127.0.0.53\noptions edns0\n", false) ==
        "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  CHECK(ResolvConfContent("", false) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

}  // namespace
}  // namespace bld::runner
