#include "runner/system_call.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace bld::runner {

namespace {
// Files read this way are small (passwd, group, resolv.conf): one page-sized
// multiple on the stack reads most of them in one call.
constexpr size_t kReadChunkSize = 16 * 1024;
}  // namespace

std::string ReadUntilClosed(int fd) {
  std::string data;
  char buffer[PIPE_BUF];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) data.append(buffer, static_cast<size_t>(n));
  return data;
}

void MakeDirectories(const std::string& path, mode_t mode, std::string_view what) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) throw RunnerSysError(std::string(what) + " " + prefix);
  }
}

int WaitForPid(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw RunnerSysError("wait for process " + std::to_string(pid));
  }
  return status;
}

void WriteAll(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw RunnerSysError(what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void WriteFileWithMode(const std::string& path, std::string_view content, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) throw RunnerSysError("create " + path);
  CheckSys(::fchmod(fd.get(), mode), "set the mode of " + path);
  WriteAll(fd.get(), content, "write " + path);
}

bool ReadRegularFile(const std::string& path, size_t max_size, std::string& content) {
  // O_NONBLOCK so that opening a FIFO returns at once; fstat then refuses it.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return false;
    throw RunnerSysError("open " + path);
  }
  struct stat st;
  CheckSys(::fstat(fd.get(), &st), "stat " + path);
  if (!S_ISREG(st.st_mode)) throw Error("runner: " + path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_size)
    throw Error("runner: " + path + " is " + std::to_string(st.st_size) + " bytes, more than the " +
                std::to_string(max_size) + " bytes allowed");
  content.clear();
  char buffer[kReadChunkSize];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw RunnerSysError("read " + path);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    // The file may grow between fstat and read.
    if (content.size() > max_size) throw Error("runner: " + path + " grew past " + std::to_string(max_size) + " bytes");
  }
  return true;
}

UniqueFd OpenInRoot(int root_fd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  size_t start = path.find_first_not_of('/');
  std::string rel = start == std::string::npos ? "." : path.substr(start);
  return UniqueFd(static_cast<int>(::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how)));
}

}  // namespace bld::runner
