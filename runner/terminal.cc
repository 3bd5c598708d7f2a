#include "runner/terminal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstring>

namespace bld::runner {

Pty OpenPty() {
  Pty pty;
  pty.master = UniqueFd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master) throw RunnerSysError("open a pseudo-terminal");
  CheckSys(::grantpt(pty.master.get()), "grant the pseudo-terminal");
  CheckSys(::unlockpt(pty.master.get()), "unlock the pseudo-terminal");
  char name[PATH_MAX];
  if (::ptsname_r(pty.master.get(), name, sizeof name) != 0) throw RunnerSysError("name the pseudo-terminal");
  pty.slave = UniqueFd(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.slave) throw RunnerSysError(std::string("open ") + name);
  return pty;
}

namespace {

// One byte of data with room for one descriptor beside it (SCM_RIGHTS):
// what SendFd sends and ReceiveFd receives. Not copyable: the message
// points into the object itself.
struct FdMessage {
  char byte = 0;
  iovec data{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};

  FdMessage() {
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;
};

}  // namespace

ConsoleSocket MakeConsoleSocket() {
  int pair[2];
  CheckSys(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), "create the console socket");
  return {UniqueFd(pair[0]), UniqueFd(pair[1])};
}

void SendFd(int socket, int fd) {
  FdMessage m;
  msghdr& message = m.message;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
  while (::sendmsg(socket, &message, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) throw RunnerSysError("send the terminal to bld");
  }
}

UniqueFd ReceiveFd(int socket) {
  FdMessage m;
  msghdr& message = m.message;
  ssize_t n;
  while ((n = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) throw RunnerSysError("receive the container's terminal");
  }
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (n == 0 || !header || header->cmsg_type != SCM_RIGHTS) return {};
  int fd;
  std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
  return UniqueFd(fd);
}

void CopyWindowSize(int from, int to) {
  winsize size{};
  if (::ioctl(from, TIOCGWINSZ, &size) == 0) ::ioctl(to, TIOCSWINSZ, &size);
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
}

RawTerminal::~RawTerminal() {
  if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace bld::runner
