// A small web server on a free 127.0.0.1 port for tests of HTTP downloads
// (ADD <url>): it answers each request with what a function returns for the
// request's path, whole (status line, headers, body), so a test can serve
// redirects, lying Content-Lengths and endless bodies that real servers are
// not made to produce. Optionally HTTPS, with a certificate for 127.0.0.1
// signed by a test CA (support/registry_tls.h).
//
// One thread serves one connection at a time; every connection gets one
// answer and is closed.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "support/registry_net.h"
#include "support/registry_tls.h"

struct ssl_ctx_st;

namespace bld::testing {

class HttpStub {
 public:
  // The whole answer for a request of `path` ("/file?x=1").
  using Answer = std::function<std::string(const std::string& path)>;

  explicit HttpStub(Answer answer, bool tls = false);
  ~HttpStub();
  HttpStub(const HttpStub&) = delete;
  HttpStub& operator=(const HttpStub&) = delete;

  std::string url(const std::string& path) const;
  // "127.0.0.1:<port>", the certs.d directory name of the server.
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // The CA that signed the HTTPS certificate (PEM); empty for plain HTTP.
  const std::string& ca_cert_pem() const { return tls_.ca_cert_pem; }
  int requests() const { return requests_; }

  // "HTTP/1.1 <status>" with Content-Length and `headers` ("Name: value\r\n"
  // each), then `body`.
  static std::string Response(int status, const std::string& headers, const std::string& body);

 private:
  void Serve();
  void Handle(int fd);

  Answer answer_;
  bool use_tls_;
  TestTls tls_;
  std::unique_ptr<ssl_ctx_st, void (*)(ssl_ctx_st*)> ssl_ctx_;
  Listener listener_;
  int port_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace bld::testing
