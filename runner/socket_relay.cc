#include "runner/socket_relay.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>

#include "runner/stream_relay.h"

namespace bld::runner {

namespace {

constexpr int kListenBacklog = 16;
constexpr uint64_t kWake = 1;

sockaddr_un UnixAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    throw Error("runner: the socket path " + path + " is longer than a unix socket address holds");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace

UniqueFd ConnectUnixSocket(const std::string& path) {
  sockaddr_un address = UnixAddress(path);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
  return fd;
}

SocketRelay::SocketRelay(const std::string& path, const std::string& upstream, uid_t uid, gid_t gid, mode_t mode)
    : path_(path), upstream_(upstream), stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_) throw RunnerSysError("create an eventfd");
  sockaddr_un address = UnixAddress(path);
  listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) throw RunnerSysError("open a unix socket for " + path);
  CheckSys(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), "bind " + path);
  CheckSys(::chown(path.c_str(), uid, gid), "set the owner of " + path);
  CheckSys(::chmod(path.c_str(), mode), "set the mode of " + path);
  CheckSys(::listen(listener_.get(), kListenBacklog), "listen on " + path);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

SocketRelay::~SocketRelay() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
  }
  uint64_t wake = kWake;
  [[maybe_unused]] ssize_t n = ::write(stop_.get(), &wake, sizeof wake);
  acceptor_.join();
  for (std::thread& relay : relays_) relay.join();
}

void SocketRelay::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    // An agent that is gone: the step sees its connection closed, as it
    // would with the agent's own socket.
    UniqueFd agent = ConnectUnixSocket(upstream_);
    if (!agent) continue;
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    int client_fd = client.release(), agent_fd = agent.release();
    open_.insert(client_fd);
    open_.insert(agent_fd);
    relays_.emplace_back([this, client_fd, agent_fd] { Relay(client_fd, agent_fd); });
  }
}

void SocketRelay::Relay(int client, int agent) {
  RelayStream(client, agent);
  std::lock_guard lock(mutex_);
  open_.erase(client);
  open_.erase(agent);
  ::close(client);
  ::close(agent);
}

}  // namespace bld::runner
