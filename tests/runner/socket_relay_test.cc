// The socket a RUN --mount=type=ssh step sees: its own, with the owner and
// mode asked for, forwarding each connection to the agent's socket.
#include "runner/socket_relay.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "store/error.h"
#include "support/process.h"

namespace bld::testing {
namespace {

// An "agent" that answers each connection with what it read, upper-cased
// by one step (a -> b), until its listener is shut down.
class EchoAgent {
 public:
  explicit EchoAgent(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof address.sun_path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    listener_ = runner::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_.get(), 4) == 0);
    thread_ = std::thread([this] {
      while (true) {
        runner::UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client) return;
        char buf[64];
        ssize_t n = ::read(client.get(), buf, sizeof buf);
        for (ssize_t i = 0; i < n; ++i) ++buf[i];
        if (n > 0 && ::write(client.get(), buf, static_cast<size_t>(n)) != n) return;
      }
    });
  }
  ~EchoAgent() {
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }

 private:
  runner::UniqueFd listener_;
  std::thread thread_;
};

std::string Ask(const std::string& path, const std::string& text) {
  runner::UniqueFd fd = runner::ConnectUnixSocket(path);
  REQUIRE(fd);
  REQUIRE(::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  std::string answer;
  char buf[64];
  ssize_t n;
  while (answer.size() < text.size() && (n = ::read(fd.get(), buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
  return answer;
}

}  // namespace

TEST_CASE("a relayed socket forwards every connection to the agent") {
  TempDir dir;
  EchoAgent agent(dir / "agent.sock");
  runner::SocketRelay relay(dir / "step.sock", dir / "agent.sock", 0, 0, 0600);
  CHECK(Ask(relay.path(), "abc") == "bcd");
  CHECK(Ask(relay.path(), "xyz") == "yz{");
}

TEST_CASE("a relayed socket has the owner and mode asked for, and the agent's is untouched") {
  TempDir dir;
  EchoAgent agent(dir / "agent.sock");
  struct stat before;
  REQUIRE(::stat((dir / "agent.sock").c_str(), &before) == 0);
  runner::SocketRelay relay(dir / "step.sock", dir / "agent.sock", 1000, 1001, 0660);
  struct stat st;
  REQUIRE(::stat(relay.path().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0660);
  CHECK(st.st_uid == 1000u);
  CHECK(st.st_gid == 1001u);
  struct stat after;
  REQUIRE(::stat((dir / "agent.sock").c_str(), &after) == 0);
  CHECK(after.st_mode == before.st_mode);
  CHECK(after.st_uid == before.st_uid);
}

TEST_CASE("a connection to a relay whose agent is gone is closed") {
  TempDir dir;
  runner::SocketRelay relay(dir / "step.sock", dir / "no-agent.sock", 0, 0, 0600);
  runner::UniqueFd fd = runner::ConnectUnixSocket(relay.path());
  REQUIRE(fd);
  char c;
  CHECK(::read(fd.get(), &c, 1) <= 0);
}

TEST_CASE("nothing listens at a path where no socket is") {
  TempDir dir;
  CHECK_FALSE(runner::ConnectUnixSocket(dir / "none.sock"));
}

}  // namespace bld::testing
