// What `bld build` leaves in the store, seen through the image commands:
// history rows, a store that checks clean after a failed build, and ADD of
// a URL served on 127.0.0.1 (by busybox httpd, or by a stub server for the
// answers a download must refuse).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "registry/url_fetch.h"
#include "support/busybox.h"
#include "support/http_stub.h"
#include "support/process.h"
#include "support/registry_net.h"

using bld::testing::ProcessResult;
using bld::testing::RunBld;
using bld::testing::RunProcess;
using bld::testing::TempDir;
using bld::testing::WriteFile;

extern char** environ;

namespace {

struct Fixture {
  TempDir dir;
  std::string root = dir / "store";

  Fixture() {
    bld::testing::MakeBusyboxTar(dir / "busybox.tar");
    Require(Bld({"import", dir / "busybox.tar", "busybox"}));
  }
  ProcessResult Bld(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--root", root});
    return RunBld(args, "", env);
  }
  static void Require(const ProcessResult& r) {
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// busybox httpd serving `dir` on a free 127.0.0.1 port until destroyed.
class HttpServer {
 public:
  explicit HttpServer(const std::string& dir) : port_(bld::testing::FreeLoopbackPort()) {
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    std::vector<std::string> args = {"/bin/busybox", "httpd", "-f", "-p", listen, "-h", dir};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
    REQUIRE(bld::testing::WaitForPort(port_, std::chrono::seconds(10)));
  }
  ~HttpServer() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  int port_;
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("bld history of the hello-world image has one row per instruction, newest first") {
  Fixture f;
  Fixture::Require(f.Bld({"build", "-q", "-t", "helloworld", std::string(BLD_SOURCE_DIR) + "/testdata/helloworld"}));
  ProcessResult r = f.Bld({"history", "--no-trunc", "helloworld"});
  Fixture::Require(r);
  std::vector<std::string> rows = Lines(r.out);
  // The header, the six instructions after FROM, and the base's import row.
  REQUIRE(rows.size() == 8);
  CHECK_THAT(rows[1], Catch::Contains("CMD [\"httpd\" \"-f\" \"-v\" \"-p\" \"80\" \"-h\" \"/app\"]"));
  CHECK_THAT(rows[1], Catch::Contains(" 0B "));
  CHECK_THAT(rows[2], Catch::Contains("ENV NAME=World"));
  CHECK_THAT(rows[3], Catch::Contains("EXPOSE map[80/tcp:{}]"));
  CHECK_THAT(rows[4], Catch::Contains("RUN /bin/sh -c chmod 0755 /app/cgi-bin/index.cgi"));
  CHECK_THAT(rows[5], Catch::Contains("ADD . /app"));
  CHECK_THAT(rows[6], Catch::Contains("WORKDIR /app"));
  CHECK_THAT(rows[7], Catch::Contains("Imported from"));
  // The ADD row has a size; the config-only rows do not.
  CHECK_THAT(rows[5], !Catch::Contains(" 0B "));
}

TEST_CASE("after a failed RUN nothing is tagged and bld check finds the store clean") {
  Fixture f;
  WriteFile(f.dir / "ctx/Dockerfile", "FROM busybox\nRUN echo partial > /partial\nRUN echo bad; exit 3\n");
  ProcessResult r = f.Bld({"build", "--progress", "plain", "-t", "broken", f.dir / "ctx"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("exit code: 3") || Catch::Contains("exit code 3"));
  r = f.Bld({"images"});
  Fixture::Require(r);
  CHECK_THAT(r.out, !Catch::Contains("broken"));
  r = f.Bld({"check"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("ADD of a URL fetches it, checks --checksum, and refuses a mismatch") {
  Fixture f;
  WriteFile(f.dir / "www/data.txt", "served over http\n");
  HttpServer server(f.dir / "www");
  // sha256 of "served over http\n"
  ProcessResult sum = RunProcess({"sha256sum", f.dir / "www/data.txt"});
  std::string digest = "sha256:" + sum.out.substr(0, 64);

  WriteFile(f.dir / "ok/Dockerfile", "FROM busybox\nADD --checksum=" + digest + " " + server.url("/data.txt") +
                                         " /fetched/\nRUN cat /fetched/data.txt\n");
  ProcessResult r = f.Bld({"build", "--progress", "plain", f.dir / "ok"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("served over http"));

  std::string wrong = "sha256:" + std::string(64, '0');
  WriteFile(f.dir / "bad/Dockerfile",
            "FROM busybox\nADD --checksum=" + wrong + " " + server.url("/data.txt") + " /fetched/\n");
  r = f.Bld({"build", f.dir / "bad"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("checksum mismatch: expected " + wrong + ", got " + digest));
}

TEST_CASE("ADD of an HTTPS URL that redirects to plain HTTP is refused") {
  Fixture f;
  bld::testing::HttpStub plain([](const std::string&) { return bld::testing::HttpStub::Response(200, "", "x"); });
  bld::testing::HttpStub secure(
      [&](const std::string&) {
        return bld::testing::HttpStub::Response(302, "Location: " + plain.url("/data.txt") + "\r\n", "");
      },
      true);
  WriteFile(f.dir / "certs.d/" + secure.host() + "/ca.crt", secure.ca_cert_pem());
  WriteFile(f.dir / "ctx/Dockerfile", "FROM busybox\nADD " + secure.url("/data.txt") + " /fetched/\n");
  ProcessResult r = f.Bld({"build", f.dir / "ctx"}, {{"BLD_CERTS_D", f.dir / "certs.d"}});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("refusing its redirect to " + plain.url("/data.txt")) &&
                        Catch::Contains("never downgraded to plain HTTP"));
  CHECK(plain.requests() == 0);
}

TEST_CASE("ADD of a URL larger than bld accepts is refused with the limit in the error") {
  Fixture f;
  std::string huge = std::to_string(bld::registry::kMaxUrlFetchSize + 1);
  bld::testing::HttpStub server([&](const std::string&) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + huge + "\r\nConnection: close\r\n\r\nstart";
  });
  WriteFile(f.dir / "ctx/Dockerfile", "FROM busybox\nADD " + server.url("/huge.bin") + " /fetched/\n");
  ProcessResult r = f.Bld({"build", f.dir / "ctx"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("ADD: GET " + server.url("/huge.bin") + ": the file is " + huge +
                                    " bytes, more than the " + std::to_string(bld::registry::kMaxUrlFetchSize) +
                                    " bytes a URL source may have"));
}
