#include "support/registry_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace bld::testing {

namespace {

// A message head larger than this is not one the fixtures expect.
constexpr size_t kMaxHeadSize = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;
constexpr std::chrono::milliseconds kPortPollInterval{50};

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void Socket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Socket::Shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

Listener ListenLoopback() {
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  int one = 1;
  ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = Loopback(0);
  if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s.fd(), 64) != 0)
    throw std::runtime_error("bind/listen on 127.0.0.1: " + std::string(std::strerror(errno)));
  socklen_t len = sizeof addr;
  ::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&addr), &len);
  return {std::move(s), ntohs(addr.sin_port)};
}

int FreeLoopbackPort() { return ListenLoopback().port; }

Socket ConnectLoopback(int port) {
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = Loopback(port);
  if (!s.valid() || ::connect(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return Socket();
  int one = 1;
  ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

bool WaitForPort(int port, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (ConnectLoopback(port).valid()) return true;
    std::this_thread::sleep_for(kPortPollInterval);
  }
  return false;
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<std::string> HttpHead::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::optional<HttpHead> ReadHttpHead(int fd, std::string& buffer) {
  size_t end;
  while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (buffer.size() > kMaxHeadSize) return std::nullopt;
    char chunk[kReadChunk];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  HttpHead head;
  head.raw = buffer.substr(0, end + 4);
  buffer.erase(0, end + 4);
  size_t line_end = head.raw.find("\r\n");
  head.start_line = head.raw.substr(0, line_end);
  size_t pos = line_end + 2;
  while (pos < head.raw.size()) {
    size_t next = head.raw.find("\r\n", pos);
    std::string line = head.raw.substr(pos, next - pos);
    pos = next + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    head.headers[ToLower(line.substr(0, colon))] = value;
  }
  return head;
}

bool ReadExactly(int fd, std::string& buffer, size_t n, std::string& out) {
  out.clear();
  size_t from_buffer = std::min(n, buffer.size());
  out.append(buffer, 0, from_buffer);
  buffer.erase(0, from_buffer);
  while (out.size() < n) {
    char chunk[kReadChunk];
    ssize_t got = ::recv(fd, chunk, std::min(sizeof chunk, n - out.size()), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out.append(chunk, static_cast<size_t>(got));
  }
  return true;
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::multimap<std::string, std::string> ParseQuery(std::string_view query) {
  std::multimap<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (!pair.empty())
      out.emplace(UrlDecode(pair.substr(0, eq)), eq == std::string_view::npos ? "" : UrlDecode(pair.substr(eq + 1)));
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
  }
  return out;
}

}  // namespace bld::testing
