// HTTP for the registry protocol, on libcurl: one place that knows about
// connections, TLS, proxies, timeouts and retries, so that the protocol code
// (auth, pull, push) reads as a sequence of requests and answers.
//
// What it guarantees:
//  - TLS is verified unless a request says otherwise (TlsSettings::verify is
//    turned off only for registries the user named insecure). Extra CAs are
//    added to the system ones, never instead of them.
//  - Connections are reused: each request borrows an idle curl handle, whose
//    connection cache survives between requests; DNS answers and TLS sessions
//    are shared by all handles.
//  - Proxies come from the environment as libcurl reads them (http_proxy,
//    https_proxy, no_proxy), except that a loopback host is never proxied, as
//    Go's net/http (docker, containerd) does: a test or local registry on
//    127.0.0.1 must not go through a corporate proxy whatever NO_PROXY says.
//  - Transient failures are retried with exponential backoff: connection
//    errors, timeouts, 408, 429 and 5xx answers (Retry-After honoured, up to a
//    cap); never 4xx such as 401, 403 or 404, which another try cannot change.
//    A request whose body was partly received by the caller's sink is not
//    retried here: the caller knows how to resume it (a Range request) and
//    gets a TransportError saying how much arrived.
//  - A response body is only handed to the caller's sink for a 2xx answer;
//    other answers are kept (up to a limit) for their error message.
//  - Errors are in bld's words, not libcurl's: what happened to the
//    connection and how many tries were made, never a callback's return code.
//
// Thread safety: Send may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/compression.h"
#include "store/error.h"

namespace bld::registry {

// How long to wait before giving up on a connection that does not progress.
struct HttpTimeouts {
  // Go's default dialer (docker's) also gives up after 30 s.
  std::chrono::milliseconds connect{30'000};
  // A transfer that moves less than one byte per second for this long is
  // dropped (and retried): a stalled registry must not hang a CI job forever,
  // but a slow link must not be cut either.
  std::chrono::seconds stalled{60};
};

struct RetryPolicy {
  // Attempts in all, the first included.
  int max_attempts = 5;
  // The first retry waits this long, each next one twice as long, up to
  // max_delay: 0.25 + 0.5 + 1 + 2 s, so a registry that restarts within a few
  // seconds is waited for and a dead one is reported within four.
  std::chrono::milliseconds initial_delay{250};
  std::chrono::milliseconds max_delay{8'000};
  // A Retry-After longer than this is cut short: a client waiting minutes on
  // a registry's say-so looks hung.
  std::chrono::milliseconds max_retry_after{30'000};

  // The wait before retry number `retry` (1 for the first retry): the
  // exponential delay, or Retry-After when the registry sent one, capped.
  std::chrono::milliseconds Delay(int retry, std::optional<std::chrono::milliseconds> retry_after = {}) const;
};

// How to check the server of one request.
struct TlsSettings {
  bool verify = true;
  // PEM files of CAs trusted in addition to the system ones.
  std::vector<std::string> ca_files;
  // A client certificate and its key (PEM), both or neither.
  std::string client_cert;
  std::string client_key;
};

// A request body that can be produced again from its start, so that a
// request can be retried.
struct HttpBody {
  uint64_t size = 0;
  // Called once per attempt; the source yields exactly `size` bytes.
  std::function<store::ByteSource()> open;

  static HttpBody FromString(std::string data);
};

struct HttpResponse {
  long status = 0;
  std::string url;  // after redirects
  // Of the final answer, names in lower case, in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body when the request had no sink, or the start of a non-2xx body.
  std::string body;
  // How many times the request was sent to get this answer (retries of
  // 408, 429 and 5xx included), for messages.
  int attempts = 1;

  bool ok() const { return status >= 200 && status < 300; }
  // The first header of that name (any case), if any.
  std::optional<std::string> Header(std::string_view name) const;
  std::vector<std::string> HeaderValues(std::string_view name) const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::optional<HttpBody> body;
  // Receives the body of a 2xx answer as it arrives; may throw, which aborts
  // the transfer and reaches the caller of Send. Without a sink the body is
  // kept in HttpResponse::body, up to max_body_size (more is an error).
  std::function<void(const char* data, size_t size)> sink;
  // Called with the status and headers of a 2xx answer before the sink gets
  // its first byte (to tell a 206 answer to a Range request from a 200).
  // May throw, as the sink may.
  std::function<void(const HttpResponse& head)> on_response;
  size_t max_body_size = 1 << 20;
  // Bytes sent and received so far in the current attempt.
  std::function<void(uint64_t sent, uint64_t received)> progress;
  // Called before a retry with the reason, e.g. for a "retrying" event.
  std::function<void(const std::string& reason)> on_retry;
  // False for requests that must not be sent twice as they are (an upload
  // chunk the registry may have partly stored): every failure is returned
  // or thrown at once.
  bool retry = true;
  bool follow_redirects = true;
  // Checked while the request runs; when set, the request is abandoned.
  const std::atomic<bool>* cancel = nullptr;
  TlsSettings tls;
};


// A request that got no complete answer: the connection was refused or
// dropped, it timed out or stalled, TLS failed, or it was cancelled.
class TransportError : public Error {
 public:
  enum class Kind {
    kConnection,   // refused, reset, dropped, timed out: worth another try
    kTlsHandshake, // no TLS session could be set up (e.g. the server speaks plain HTTP)
    kCertificate,  // the server's certificate was not trusted
    kCancelled,
    kOther,
  };
  TransportError(const std::string& what, Kind kind, uint64_t body_received)
      : Error(what), kind_(kind), body_received_(body_received) {}

  Kind kind() const { return kind_; }
  bool transient() const { return kind_ == Kind::kConnection; }
  // Bytes of a 2xx body already handed to the request's sink.
  uint64_t body_received() const { return body_received_; }

 private:
  Kind kind_;
  uint64_t body_received_;
};

// 408, 429 and 5xx: answers that another try may change.
bool IsRetryableStatus(long status);
// Whether `host` ("name", "name:port", "1.2.3.4:5", "[::1]:5") is localhost,
// in 127.0.0.0/8 or ::1.
bool IsLoopbackHost(std::string_view host);
// Splits "host[:port]" (IPv6 in brackets) into its parts; port empty if absent.
std::pair<std::string, std::string> SplitHostPort(std::string_view host);
// `location` (absolute, scheme-relative, or relative as RFC 3986 allows)
// resolved against `base`. Registries answer with both kinds.
std::string ResolveUrl(const std::string& base, const std::string& location);
// "a=b&c=d" style escaping of one value.
std::string UrlEscape(std::string_view value);
// The host[:port] of an absolute URL.
std::string UrlHost(const std::string& url);

class HttpClient {
 public:
  struct Options {
    std::string user_agent = "bld";
    HttpTimeouts timeouts;
    RetryPolicy retry;
  };

  explicit HttpClient(Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const Options& options() const { return options_; }

  // Sends the request, retrying as this file's header says. Returns the
  // answer, whatever its status; throws TransportError when none came.
  HttpResponse Send(const HttpRequest& request);

 private:
  // A libcurl easy handle, which keeps its connections open between uses.
  class Handle;
  HttpResponse SendOnce(const HttpRequest& request);
  std::unique_ptr<Handle> Acquire();
  void Release(std::unique_ptr<Handle> handle);
  // The system CAs followed by the request's extra ones, built once per list.
  std::shared_ptr<const std::string> CaBundle(const std::vector<std::string>& ca_files);

  Options options_;
  struct Share;
  std::unique_ptr<Share> share_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Handle>> idle_;
  std::map<std::string, std::shared_ptr<const std::string>> ca_bundles_;
};

}  // namespace bld::registry
