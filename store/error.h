// The one error type that crosses module boundaries in bld (everything but the
// parser, which has ParseError with a source location).
//
// bld reports failures by throwing bld::Error; the message is complete and
// user-facing ("what failed, on what, and why"), because cli prints it as it
// is. Lower layers never print. Functions that can fail in an expected,
// non-exceptional way (a cache miss, an absent ref) return std::optional
// instead.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace bld {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<what>: <strerror(errno)>" for a failed system call.
inline Error SysError(const std::string& what, int err = errno) {
  return Error(what + ": " + std::strerror(err));
}

}  // namespace bld
