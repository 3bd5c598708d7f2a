#include "runner/stream_relay.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <memory>

namespace bld::runner {

namespace {

// One read's worth of relayed data; large enough that a bulk transfer is not
// bounded by system calls.
constexpr size_t kRelayBuffer = 256 * 1024;

// Writes all of `data`; false when the peer is gone.
bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void RelayStream(int a, int b) {
  std::unique_ptr<char[]> buffer(new char[kRelayBuffer]);
  // from[i] is read and written to to[i]; a direction ends at its EOF.
  int from[2] = {a, b};
  int to[2] = {b, a};
  bool open[2] = {true, true};
  while (open[0] || open[1]) {
    pollfd fds[2];
    int which[2];
    nfds_t count = 0;
    for (int i = 0; i < 2; ++i) {
      if (!open[i]) continue;
      fds[count] = {from[i], POLLIN, 0};
      which[count++] = i;
    }
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (nfds_t k = 0; k < count; ++k) {
      if (fds[k].revents == 0) continue;
      int i = which[k];
      ssize_t n = ::recv(from[i], buffer.get(), kRelayBuffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        open[i] = false;
        ::shutdown(to[i], SHUT_WR);
        if (n < 0) return;
      } else if (!SendAll(to[i], buffer.get(), static_cast<size_t>(n))) {
        return;
      }
    }
  }
}

}  // namespace bld::runner
