#include "cli/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "store/error.h"
#include "store/fd_io.h"

namespace bld::cli {

OutputFile::OutputFile(const std::string& path) : path_(path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  temp_ = dir + "/." + base + ".tmp-XXXXXX";
  fd_ = ::mkostemp(temp_.data(), O_CLOEXEC);
  if (fd_ < 0) throw SysError("cannot create a file in " + dir + " for " + path);
  // mkostemp makes the file 0600.
  mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd_, 0666 & ~mask) != 0) {
    int err = errno;
    ::close(fd_);
    ::unlink(temp_.c_str());
    throw SysError("cannot set the mode of " + temp_, err);
  }
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void OutputFile::Write(const void* data, size_t size) { store::WriteAll(fd_, data, size, path_); }

void OutputFile::Commit() {
  if (::fsync(fd_) != 0) throw SysError("cannot flush " + path_ + " to disk");
  if (::close(std::exchange(fd_, -1)) != 0) {
    ::unlink(temp_.c_str());
    throw SysError("cannot write " + path_);
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_.c_str());
    throw SysError("cannot move " + path_ + " into place", err);
  }
}

}  // namespace bld::cli
