// Loopback sockets for the registry test fixtures (the token issuer, the
// fault proxy, readiness checks): blocking, small, HTTP/1.1 only as far as
// those fixtures need it.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace bld::testing {

// A socket descriptor, closed on destruction.
class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  ~Socket() { Close(); }
  Socket(Socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close();
  // Wakes up a thread blocked on the socket (accept, read) without closing it.
  void Shutdown();

 private:
  int fd_;
};

// A listening socket on 127.0.0.1 with a port the kernel picked.
struct Listener {
  Socket socket;
  int port = 0;
};
Listener ListenLoopback();
// A port free right now on 127.0.0.1 (for a server that binds it itself).
int FreeLoopbackPort();
// Connects to 127.0.0.1:port; an invalid socket on failure.
Socket ConnectLoopback(int port);
// Whether 127.0.0.1:port accepts connections within `timeout`.
bool WaitForPort(int port, std::chrono::milliseconds timeout);

// Writes everything; false if the peer went away.
bool WriteAll(int fd, std::string_view data);

// An HTTP message head: the start line and the headers (names lower case).
struct HttpHead {
  std::string start_line;
  std::map<std::string, std::string> headers;
  std::string raw;  // as received, ending with the blank line

  std::optional<std::string> Header(const std::string& lower_name) const;
};

// Reads one message head from `fd`; `buffer` holds bytes read beyond it (the
// start of the body) and is consumed first. nullopt at end of stream.
std::optional<HttpHead> ReadHttpHead(int fd, std::string& buffer);
// Reads exactly n bytes (from `buffer` first); false at end of stream.
bool ReadExactly(int fd, std::string& buffer, size_t n, std::string& out);

// "%41+b" -> "A b", for query strings and forms.
std::string UrlDecode(std::string_view s);
// The key=value pairs of a query string or form, repeated keys kept in order.
std::multimap<std::string, std::string> ParseQuery(std::string_view query);

}  // namespace bld::testing
