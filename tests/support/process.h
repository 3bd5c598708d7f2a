// Running programs from tests: the bld binary, peers like skopeo, and shell
// snippets, with their output captured.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace bld::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH) with argv, feeding `input` on stdin;
// `env` entries are added to (or replace) the inherited environment.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                         const std::map<std::string, std::string>& env = {});

// Runs the bld binary built with the tests.
ProcessResult RunBld(const std::vector<std::string>& args, const std::string& input = "",
                     const std::map<std::string, std::string>& env = {});

// Starts the bld binary with `args`, stdin from `stdin_fd` (/dev/null when
// -1) and its output discarded, without waiting; returns its pid.
pid_t SpawnBld(const std::vector<std::string>& args, int stdin_fd = -1);

// Runs `sh -c script`.
ProcessResult RunShell(const std::string& script);

// A fresh directory under /tmp, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Writes a file, creating parent directories.
void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

// Runs skopeo with a policy of its own written into `dir` (accept
// anything), so that no system policy.json is needed.
ProcessResult RunSkopeo(const TempDir& dir, std::vector<std::string> args);

}  // namespace bld::testing
