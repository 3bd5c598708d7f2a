#include "support/container_fixture.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "support/busybox.h"
#include "support/registry_net.h"

namespace bld::testing {

namespace {

// How long HttpGet keeps trying: the server in a fresh container listens
// within milliseconds; this bounds a broken test, it times nothing.
constexpr int kGetAttempts = 200;
constexpr std::chrono::milliseconds kGetRetryDelay{50};

}  // namespace

ContainerFixture::ContainerFixture() : root_(dir_ / "store") {
  std::string tar = dir_ / "busybox.tar";
  MakeBusyboxTar(tar);
  BldOk({"import", tar, "busybox"});
}

ContainerFixture::~ContainerFixture() {
  ProcessResult ids = Bld({"ps", "-a", "-q", "--no-trunc"});
  std::vector<std::string> args = {"rm", "-f", "-v"};
  size_t start = 0;
  for (size_t end; (end = ids.out.find('\n', start)) != std::string::npos; start = end + 1)
    args.push_back(ids.out.substr(start, end - start));
  if (args.size() > 3) Bld(args);
}

ProcessResult ContainerFixture::Bld(std::vector<std::string> args, const std::string& input) const {
  args.insert(args.begin(), {"--root", root_});
  return RunBld(args, input);
}

std::string ContainerFixture::BldOk(std::vector<std::string> args, const std::string& input) const {
  ProcessResult r = Bld(args, input);
  if (r.exit_code != 0) {
    std::string command;
    for (const std::string& a : args) command += " " + a;
    throw std::runtime_error("bld" + command + " exited " + std::to_string(r.exit_code) + ":\n" + r.out + r.err);
  }
  if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

void ContainerFixture::BuildHelloworld() const {
  BldOk({"build", "-q", "-t", "helloworld", std::string(BLD_SOURCE_DIR) + "/testdata/helloworld"});
}

std::string HttpGet(int port, const std::string& path) {
  for (int attempt = 0; attempt < kGetAttempts; ++attempt) {
    Socket socket = ConnectLoopback(port);
    if (socket.valid() && WriteAll(socket.fd(), "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")) {
      std::string response;
      char buffer[4096];
      ssize_t n;
      while ((n = ::read(socket.fd(), buffer, sizeof buffer)) > 0) response.append(buffer, static_cast<size_t>(n));
      // The headers end at the first empty line; a CGI script's own headers
      // may end it with a bare "\n".
      size_t crlf = response.find("\r\n\r\n"), lf = response.find("\n\n");
      if (crlf != std::string::npos && (lf == std::string::npos || crlf < lf)) return response.substr(crlf + 4);
      if (lf != std::string::npos) return response.substr(lf + 2);
    }
    std::this_thread::sleep_for(kGetRetryDelay);
  }
  return "";
}

}  // namespace bld::testing
