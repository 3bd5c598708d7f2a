// Shared setup for the end-to-end tests of `bld run` and the container
// commands: a store in a temporary directory with a busybox image imported
// by `bld import`, helpers to run bld on it, and an HTTP GET over loopback.
// Every container a test leaves is removed (`bld rm -f -v`) on destruction.
#pragma once

#include <string>
#include <vector>

#include "support/process.h"

namespace bld::testing {

class ContainerFixture {
 public:
  ContainerFixture();
  ~ContainerFixture();
  ContainerFixture(const ContainerFixture&) = delete;
  ContainerFixture& operator=(const ContainerFixture&) = delete;

  const std::string& root() const { return root_; }
  TempDir& dir() { return dir_; }

  // `bld --root <root> args...`.
  ProcessResult Bld(std::vector<std::string> args, const std::string& input = "") const;
  // The same, requiring exit code 0; returns stdout without its last "\n".
  std::string BldOk(std::vector<std::string> args, const std::string& input = "") const;

  // Builds testdata/helloworld as `helloworld`.
  void BuildHelloworld() const;

 private:
  TempDir dir_;
  std::string root_;
};

// The body of an HTTP GET of `path` on 127.0.0.1:port, retried until the
// server inside answers (a published port accepts at once, the server in
// the container may not be listening yet); "" if it never does.
std::string HttpGet(int port, const std::string& path);

}  // namespace bld::testing
