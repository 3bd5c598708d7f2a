// Terminals for `bld run -t` and `bld exec -t`: a pseudo-terminal whose
// slave becomes the command's stdin, stdout and stderr (and controlling
// terminal), and raw mode for bld's own terminal while it is relayed, so
// that every key (Ctrl-C included) reaches the command, as with docker.
//
// The pty is made inside the container, from its own devpts instance, as
// runc makes it: a terminal from the host's devpts would work, but `tty` and
// ttyname(3) inside would not find it under the container's /dev/pts. The
// container's setup opens it and sends the master to bld over a unix socket
// (SCM_RIGHTS): the "console socket".
//
// Thread safety: the functions keep no state; a RawTerminal belongs to one
// thread.
#pragma once

#include <termios.h>

#include "runner/system_call.h"

namespace bld::runner {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
};

// A new pty from /dev/ptmx of the current root.
Pty OpenPty();

// A unix socket pair over which a container sends back the master of the
// pseudo-terminal it made (StdioFds::console_socket): `child` goes to the
// container, `ours` receives (ReceiveFd).
struct ConsoleSocket {
  UniqueFd ours;
  UniqueFd child;
};
ConsoleSocket MakeConsoleSocket();

// Sends a descriptor over a unix socket, and receives one.
void SendFd(int socket, int fd);
UniqueFd ReceiveFd(int socket);

// Gives `to` the window size of `from` when `from` is a terminal.
void CopyWindowSize(int from, int to);

// Raw mode on `fd` while it lives, when `fd` is a terminal.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

}  // namespace bld::runner
