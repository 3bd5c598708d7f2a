// Whole reads and writes on file descriptors, in one place: each loop
// retries EINTR and short transfers, and an error names what was read or
// written.
//
// Thread safety: pure functions over descriptors the caller owns; a
// ByteSource from FdSource belongs to one reader at a time.
#pragma once

#include <cstddef>
#include <string>

#include "store/compression.h"

namespace bld::store {

// Writes all of `data` to `fd`; throws SysError("cannot write <what>").
void WriteAll(int fd, const void* data, size_t size, const std::string& what);

// Reads the descriptor `fd` (not owned) until its end; throws
// SysError("cannot read <what>") on a read error.
ByteSource FdSource(int fd, std::string what);

}  // namespace bld::store
