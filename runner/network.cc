#include "runner/network.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

namespace bld::runner {

void BringUpLoopback() {
  // Interface flags are set through any socket of the namespace; SIOCSIFFLAGS
  // is one ioctl where netlink would need a message exchange.
  UniqueFd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!socket) throw RunnerSysError("open a socket to configure lo");
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  CheckSys(::ioctl(socket.get(), SIOCGIFFLAGS, &request), "read the flags of lo");
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  CheckSys(::ioctl(socket.get(), SIOCSIFFLAGS, &request), "bring up lo");
}

UniqueFd OpenNetworkNamespace(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw RunnerSysError("open the network namespace " + path);
  return fd;
}

void JoinNetworkNamespace(int ns_fd) { CheckSys(::setns(ns_fd, CLONE_NEWNET), "join a network namespace"); }

}  // namespace bld::runner
