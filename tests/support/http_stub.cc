#include "support/http_stub.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <sstream>
#include <stdexcept>

namespace bld::testing {

namespace {

// A request head larger than this is not one a download client sends.
constexpr size_t kMaxRequestHead = 64 * 1024;

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("HttpStub: ") + what + " failed");
}

// SSL_CTX for a server with the test certificate and key.
ssl_ctx_st* ServerContext(const TestTls& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  Check(ctx != nullptr, "SSL_CTX_new");
  std::unique_ptr<BIO, BioFree> cert_bio(BIO_new_mem_buf(tls.server_cert_pem.data(), static_cast<int>(tls.server_cert_pem.size())));
  std::unique_ptr<BIO, BioFree> key_bio(BIO_new_mem_buf(tls.server_key_pem.data(), static_cast<int>(tls.server_key_pem.size())));
  X509* cert = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  bool ok = cert && key && SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) SSL_CTX_free(ctx);
  Check(ok, "loading the test certificate");
  return ctx;
}

// Reads until the blank line that ends a request head; the request's path,
// or empty if the client went away first.
std::string ReadRequestPath(const std::function<ssize_t(char*, size_t)>& read) {
  std::string head;
  char chunk[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < kMaxRequestHead) {
    ssize_t n = read(chunk, sizeof chunk);
    if (n <= 0) return "";
    head.append(chunk, static_cast<size_t>(n));
  }
  std::istringstream start(head.substr(0, head.find("\r\n")));
  std::string method, path;
  start >> method >> path;
  return path;
}

}  // namespace

HttpStub::HttpStub(Answer answer, bool tls)
    : answer_(std::move(answer)),
      use_tls_(tls),
      tls_(tls ? MakeTestTls() : TestTls{}),
      ssl_ctx_(tls ? ServerContext(tls_) : nullptr, [](ssl_ctx_st* ctx) { SSL_CTX_free(ctx); }),
      listener_(ListenLoopback()),
      port_(listener_.port) {
  thread_ = std::thread([this] { Serve(); });
}

HttpStub::~HttpStub() {
  stopping_ = true;
  listener_.socket.Shutdown();
  thread_.join();
}

std::string HttpStub::url(const std::string& path) const {
  return std::string(use_tls_ ? "https://" : "http://") + host() + path;
}

std::string HttpStub::Response(int status, const std::string& headers, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " Stub\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + headers + "\r\n" + body;
}

void HttpStub::Serve() {
  while (!stopping_) {
    int fd = ::accept4(listener_.socket.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_ || (errno != EINTR && errno != ECONNABORTED)) return;
      continue;
    }
    Socket client(fd);
    Handle(client.fd());
  }
}

void HttpStub::Handle(int fd) {
  if (!use_tls_) {
    std::string path = ReadRequestPath([fd](char* data, size_t size) { return ::recv(fd, data, size, 0); });
    if (path.empty()) return;
    ++requests_;
    WriteAll(fd, answer_(path));
    ::shutdown(fd, SHUT_WR);
    return;
  }
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ssl_ctx_.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || SSL_accept(ssl.get()) != 1) return;
  std::string path = ReadRequestPath([&](char* data, size_t size) -> ssize_t {
    return SSL_read(ssl.get(), data, static_cast<int>(size));
  });
  if (path.empty()) return;
  ++requests_;
  std::string answer = answer_(path);
  for (size_t done = 0; done < answer.size();) {
    int n = SSL_write(ssl.get(), answer.data() + done, static_cast<int>(answer.size() - done));
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
  SSL_shutdown(ssl.get());
}

}  // namespace bld::testing
