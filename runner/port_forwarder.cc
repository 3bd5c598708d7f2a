#include "runner/port_forwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cstring>
#include <map>

#include "runner/network.h"
#include "runner/stream_relay.h"

namespace bld::runner {

namespace {

constexpr int kListenBacklog = 128;
// The largest UDP payload.
constexpr size_t kMaxDatagram = 65535;
constexpr uint64_t kWake = 1;

uint16_t ParsePort(std::string_view text, std::string_view spec) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos)
    throw Error("Invalid port specification: \"" + std::string(spec) + "\"");
  unsigned long value = std::stoul(std::string(text));
  if (value == 0 || value > 65535) throw Error("Invalid port specification: \"" + std::string(spec) + "\"");
  return static_cast<uint16_t>(value);
}

sockaddr_in LoopbackAddress(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

std::string Describe(const PortMapping& port) {
  return (port.host_ip.empty() ? "0.0.0.0" : port.host_ip) + ":" + std::to_string(port.host_port) + "/" + port.protocol;
}

}  // namespace

PortMapping ParsePortMapping(std::string_view spec) {
  PortMapping port;
  std::string_view rest = spec;
  size_t slash = rest.rfind('/');
  if (slash != std::string_view::npos) {
    port.protocol = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (port.protocol != "tcp" && port.protocol != "udp")
      throw Error("Invalid proto: " + port.protocol + " (in port specification \"" + std::string(spec) + "\")");
  }
  size_t last = rest.rfind(':');
  if (last == std::string_view::npos)
    throw Error("Invalid port specification: \"" + std::string(spec) + "\" (publish needs HOST:CONTAINER)");
  port.container_port = ParsePort(rest.substr(last + 1), spec);
  rest = rest.substr(0, last);
  size_t first = rest.rfind(':');
  if (first != std::string_view::npos) {
    port.host_ip = std::string(rest.substr(0, first));
    rest = rest.substr(first + 1);
    in_addr unused;
    if (::inet_pton(AF_INET, port.host_ip.c_str(), &unused) != 1)
      throw Error("Invalid ip address: " + port.host_ip + " (bld publishes IPv4 addresses)");
  }
  port.host_port = ParsePort(rest, spec);
  return port;
}

PortForwarder::PortForwarder(const std::vector<PortMapping>& ports) : stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_) throw RunnerSysError("create an eventfd");
  for (const PortMapping& port : ports) {
    int type = port.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) throw RunnerSysError("open a socket for " + Describe(port));
    int one = 1;
    CheckSys(::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), "set SO_REUSEADDR");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port.host_port);
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    if (!port.host_ip.empty()) ::inet_pton(AF_INET, port.host_ip.c_str(), &address.sin_addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      if (errno == EADDRINUSE) throw Error("failed to bind host port " + Describe(port) + ": address already in use");
      throw RunnerSysError("bind host port " + Describe(port));
    }
    if (type == SOCK_STREAM) CheckSys(::listen(fd.get(), kListenBacklog), "listen on " + Describe(port));
    listeners_.push_back({port, std::move(fd)});
  }
}

PortForwarder::~PortForwarder() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
  }
  uint64_t wake = kWake;
  [[maybe_unused]] ssize_t n = ::write(stop_.get(), &wake, sizeof wake);
  for (std::thread& thread : threads_) thread.join();
  std::unique_lock lock(mutex_);
  relays_done_.wait(lock, [&] { return relays_ == 0; });
}

void PortForwarder::Start(UniqueFd netns) {
  netns_ = std::move(netns);
  for (const Listener& listener : listeners_) {
    if (listener.port.protocol == "udp") {
      threads_.emplace_back([this, &listener] { RelayUdp(listener); });
    } else {
      threads_.emplace_back([this, &listener] { AcceptLoop(listener); });
    }
  }
}

void PortForwarder::Untrack(int fd) {
  std::lock_guard lock(mutex_);
  open_.erase(fd);
}

UniqueFd PortForwarder::ConnectInside(const PortMapping& port, int type) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  sockaddr_in address = LoopbackAddress(port.container_port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
  return fd;
}

void PortForwarder::AcceptLoop(const Listener& listener) {
  try {
    JoinNetworkNamespace(netns_.get());
  } catch (const Error&) {
    return;  // the container is gone already
  }
  for (;;) {
    pollfd fds[2] = {{listener.fd.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    UniqueFd client(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    // Refused inside (nothing listens yet): the client sees its connection
    // closed, as with Docker's userland proxy.
    UniqueFd upstream = ConnectInside(listener.port, SOCK_STREAM);
    if (!upstream) continue;
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    ++relays_;
    int client_fd = client.release(), upstream_fd = upstream.release();
    open_.insert(client_fd);
    open_.insert(upstream_fd);
    std::thread([this, client_fd, upstream_fd] { RelayTcp(client_fd, upstream_fd); }).detach();
  }
}

void PortForwarder::RelayTcp(int client, int upstream) {
  RelayStream(client, upstream);
  Untrack(client);
  Untrack(upstream);
  ::close(client);
  ::close(upstream);
  std::lock_guard lock(mutex_);
  --relays_;
  relays_done_.notify_all();
}

void PortForwarder::RelayUdp(const Listener& listener) {
  try {
    JoinNetworkNamespace(netns_.get());
  } catch (const Error&) {
    return;
  }
  struct Session {
    sockaddr_in client;
    UniqueFd upstream;
  };
  // Keyed by the client's address and port.
  std::map<std::pair<uint32_t, uint16_t>, Session> sessions;
  std::unique_ptr<char[]> buffer(new char[kMaxDatagram]);
  for (;;) {
    std::vector<pollfd> fds = {{listener.fd.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    std::vector<Session*> by_index;
    for (auto& [key, session] : sessions) {
      fds.push_back({session.upstream.get(), POLLIN, 0});
      by_index.push_back(&session);
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (fds[0].revents) {
      sockaddr_in client{};
      socklen_t length = sizeof client;
      ssize_t n =
          ::recvfrom(listener.fd.get(), buffer.get(), kMaxDatagram, 0, reinterpret_cast<sockaddr*>(&client), &length);
      if (n >= 0) {
        auto key = std::make_pair(client.sin_addr.s_addr, client.sin_port);
        auto it = sessions.find(key);
        if (it == sessions.end()) {
          UniqueFd upstream = ConnectInside(listener.port, SOCK_DGRAM);
          if (upstream) it = sessions.emplace(key, Session{client, std::move(upstream)}).first;
        }
        if (it != sessions.end()) ::send(it->second.upstream.get(), buffer.get(), static_cast<size_t>(n), 0);
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Session* session = by_index[i - 2];
      ssize_t n = ::recv(session->upstream.get(), buffer.get(), kMaxDatagram, 0);
      if (n < 0) continue;
      ::sendto(listener.fd.get(), buffer.get(), static_cast<size_t>(n), 0,
               reinterpret_cast<const sockaddr*>(&session->client), sizeof session->client);
    }
  }
}

}  // namespace bld::runner
