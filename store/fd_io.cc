#include "store/fd_io.h"

#include <unistd.h>

#include <cerrno>
#include <utility>

#include "store/error.h"

namespace bld::store {

void WriteAll(int fd, const void* data, size_t size, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw SysError("cannot write " + what);
    p += n;
    size -= static_cast<size_t>(n);
  }
}

ByteSource FdSource(int fd, std::string what) {
  return [fd, what = std::move(what)](void* data, size_t size) -> size_t {
    for (;;) {
      ssize_t n = ::read(fd, data, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) throw SysError("cannot read " + what);
    }
  };
}

}  // namespace bld::store
