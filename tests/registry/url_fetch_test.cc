// Fetching a file by URL (ADD <url>): content, digest and date into a file,
// redirects, TLS from certs.d, and the refusals: HTTPS to HTTP, too large,
// not 2xx.
#include "registry/url_fetch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>

#include "store/unique_fd.h"
#include "support/http_stub.h"
#include "support/process.h"

using bld::registry::FetchedFile;
using bld::registry::FetchUrl;
using bld::registry::HttpClient;
using bld::registry::RegistryHosts;
using bld::store::Sha256;
using bld::testing::HttpStub;
using bld::testing::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  HttpClient client{FastRetries()};
  RegistryHosts hosts{RegistryHosts::Options{{}, {dir / "certs.d"}}};
  bld::store::UniqueFd file{::open((dir / "download").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};

  static HttpClient::Options FastRetries() {
    HttpClient::Options options;
    options.retry.initial_delay = std::chrono::milliseconds(10);
    options.retry.max_delay = std::chrono::milliseconds(50);
    return options;
  }
  // Trusts the stub's CA as certs.d/<host>/ca.crt does.
  void Trust(const HttpStub& stub) { bld::testing::WriteFile(dir / "certs.d/" + stub.host() + "/ca.crt", stub.ca_cert_pem()); }
  FetchedFile Fetch(const std::string& url, uint64_t max_bytes = bld::registry::kMaxUrlFetchSize) {
    return FetchUrl(client, hosts, url, file.get(), max_bytes);
  }
  std::string Content() const { return bld::testing::ReadFile(dir / "download"); }
};

HttpStub::Answer Serve(const std::string& body, const std::string& headers = "") {
  return [=](const std::string&) { return HttpStub::Response(200, headers, body); };
}

HttpStub::Answer RedirectTo(const std::string& location) {
  return [=](const std::string&) { return HttpStub::Response(302, "Location: " + location + "\r\n", ""); };
}

}  // namespace

TEST_CASE("a URL's content lands in the file with its digest, size and Last-Modified time") {
  Fixture f;
  HttpStub server(Serve("served content", "Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n"));
  FetchedFile fetched = f.Fetch(server.url("/file.txt"));
  CHECK(f.Content() == "served content");
  CHECK(fetched.digest == Sha256::Of("served content"));
  CHECK(fetched.size == 14);
  CHECK(fetched.last_modified == 1445412480);
}

TEST_CASE("a file fetched over a longer one is truncated to its own content") {
  Fixture f;
  bld::testing::WriteFile(f.dir / "download", std::string(100, 'x'));
  HttpStub server(Serve("short"));
  f.Fetch(server.url("/"));
  CHECK(f.Content() == "short");
}

TEST_CASE("a redirect to another plain HTTP server is followed") {
  Fixture f;
  HttpStub target(Serve("moved here"));
  HttpStub origin(RedirectTo(target.url("/new")));
  FetchedFile fetched = f.Fetch(origin.url("/old"));
  CHECK(f.Content() == "moved here");
  CHECK(fetched.url == target.url("/new"));
}

TEST_CASE("an HTTPS URL is verified against the CA in the host's certs.d directory") {
  Fixture f;
  HttpStub server(Serve("over TLS"), true);
  CHECK_THROWS_WITH(f.Fetch(server.url("/x")), Catch::Contains("certs.d"));
  f.Trust(server);
  f.Fetch(server.url("/x"));
  CHECK(f.Content() == "over TLS");
}

TEST_CASE("a redirect from HTTPS to plain HTTP is refused and the HTTP server never asked") {
  Fixture f;
  HttpStub plain(Serve("downgraded"));
  HttpStub secure(RedirectTo(plain.url("/file")), true);
  f.Trust(secure);
  CHECK_THROWS_WITH(f.Fetch(secure.url("/file")),
                    Catch::StartsWith("GET " + secure.url("/file")) &&
                        Catch::Contains("refusing its redirect to " + plain.url("/file")) &&
                        Catch::Contains("never downgraded to plain HTTP"));
  CHECK(plain.requests() == 0);
}

TEST_CASE("a Content-Length above the limit is refused before any byte is written") {
  Fixture f;
  HttpStub server([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\nstart");
  });
  CHECK_THROWS_WITH(f.Fetch(server.url("/big"), 1000),
                    Catch::Contains("the file is 1000000 bytes, more than the 1000 bytes a URL source may have"));
  CHECK(f.Content().empty());
}

TEST_CASE("a body without a length is cut off when it grows past the limit") {
  Fixture f;
  HttpStub server([](const std::string&) {
    return "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(5000, 'b');
  });
  CHECK_THROWS_WITH(f.Fetch(server.url("/endless"), 1000),
                    Catch::Contains("more than the 1000 bytes a URL source may have"));
  CHECK(f.Content().size() <= 1000);
}

TEST_CASE("an answer other than 2xx is an error naming the URL and the status") {
  Fixture f;
  HttpStub server([](const std::string&) { return HttpStub::Response(404, "", "no such file"); });
  CHECK_THROWS_WITH(f.Fetch(server.url("/missing")),
                    "GET " + server.url("/missing") + ": the server answered HTTP 404");
}

TEST_CASE("a transfer cut midway starts again from the beginning") {
  Fixture f;
  std::atomic<int> answered{0};
  HttpStub server([&](const std::string&) {
    if (answered++ == 0) return std::string("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nwhole");
    return HttpStub::Response(200, "", "whole answer");
  });
  FetchedFile fetched = f.Fetch(server.url("/flaky"));
  CHECK(f.Content() == "whole answer");
  CHECK(fetched.digest == Sha256::Of("whole answer"));
  CHECK(server.requests() == 2);
}

TEST_CASE("only http and https URLs are fetched") {
  Fixture f;
  CHECK_THROWS_WITH(f.Fetch("ftp://127.0.0.1/file"), Catch::Contains("only http:// and https:// URLs"));
}
