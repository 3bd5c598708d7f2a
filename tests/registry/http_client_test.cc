// The HTTP layer: retries, URL handling and proxies.
#include "registry/http_client.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "support/registry_fault_proxy.h"
#include "support/registry_net.h"
#include "support/registry_server.h"

using bld::registry::HttpClient;
using bld::registry::HttpRequest;
using bld::registry::HttpResponse;
using bld::registry::IsRetryableStatus;
using bld::registry::ResolveUrl;
using bld::registry::RetryPolicy;
using bld::registry::TransportError;
using bld::registry::UrlHost;
using bld::testing::FaultProxy;
using bld::testing::RegistryServer;
using std::chrono::milliseconds;

namespace {

HttpClient::Options FastRetries() {
  HttpClient::Options options;
  options.retry.initial_delay = milliseconds(10);
  options.retry.max_delay = milliseconds(50);
  return options;
}

}  // namespace

TEST_CASE("retry delays double from the initial delay up to the cap, with jitter below") {
  RetryPolicy p;
  for (int i = 0; i < 20; ++i) {
    CHECK(p.Delay(1) <= milliseconds(250));
    CHECK(p.Delay(1) >= milliseconds(200));
    CHECK(p.Delay(3) <= milliseconds(1000));
    CHECK(p.Delay(3) >= milliseconds(800));
    CHECK(p.Delay(30) <= milliseconds(8000));
  }
}

TEST_CASE("Retry-After is honoured up to its cap") {
  RetryPolicy p;
  CHECK(p.Delay(1, milliseconds(3000)) == milliseconds(3000));
  CHECK(p.Delay(1, milliseconds(3'600'000)) == p.max_retry_after);
}

TEST_CASE("only 408, 429 and 5xx are worth retrying") {
  CHECK(IsRetryableStatus(503));
  CHECK(IsRetryableStatus(500));
  CHECK(IsRetryableStatus(429));
  CHECK(IsRetryableStatus(408));
  for (long status : {200, 400, 401, 403, 404, 409})
    CHECK_FALSE(IsRetryableStatus(status));
}

TEST_CASE("upload locations resolve whether absolute, scheme-relative or relative") {
  std::string base = "http://127.0.0.1:5000/v2/app/blobs/uploads/";
  CHECK(ResolveUrl(base, "http://other:1/v2/app/blobs/uploads/u1?_state=x") ==
        "http://other:1/v2/app/blobs/uploads/u1?_state=x");
  CHECK(ResolveUrl(base, "/v2/app/blobs/uploads/u2?_state=y%3D") ==
        "http://127.0.0.1:5000/v2/app/blobs/uploads/u2?_state=y%3D");
  CHECK(ResolveUrl(base, "u3") == "http://127.0.0.1:5000/v2/app/blobs/uploads/u3");
  CHECK(ResolveUrl("https://r.example.com/v2/", "//cdn.example.com/b") == "https://cdn.example.com/b");
  CHECK(UrlHost("https://[::1]:5000/v2/") == "[::1]:5000");
  CHECK(UrlHost("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000");
}

TEST_CASE("503 answers are retried until the registry answers") {
  RegistryServer registry;
  FaultProxy proxy(registry.port(), {.fail_first_requests = 2});
  HttpClient http(FastRetries());
  HttpRequest request;
  request.url = "http://" + proxy.host() + "/v2/";
  std::vector<std::string> retries;
  request.on_retry = [&](const std::string& why) { retries.push_back(why); };
  auto response = http.Send(request);
  CHECK(response.status == 200);
  CHECK(proxy.failed_requests() == 2);
  REQUIRE(retries.size() == 2);
  CHECK_THAT(retries[0], Catch::Contains("HTTP 503") && Catch::Contains("retrying"));
}

TEST_CASE("retries stop after the policy's attempts and the last answer is returned") {
  RegistryServer registry;
  FaultProxy proxy(registry.port(), {.fail_first_requests = 100});
  HttpClient http(FastRetries());
  HttpRequest request;
  request.url = "http://" + proxy.host() + "/v2/";
  HttpResponse response = http.Send(request);
  CHECK(response.status == 503);
  CHECK(response.attempts == http.options().retry.max_attempts);
  CHECK(proxy.failed_requests() == http.options().retry.max_attempts);
}

TEST_CASE("a request marked not retryable is sent once") {
  RegistryServer registry;
  FaultProxy proxy(registry.port(), {.fail_first_requests = 1});
  HttpClient http(FastRetries());
  HttpRequest request;
  request.url = "http://" + proxy.host() + "/v2/";
  request.retry = false;
  CHECK(http.Send(request).status == 503);
  CHECK(proxy.requests() == 1);
}

TEST_CASE("404 is not retried") {
  RegistryServer registry;
  FaultProxy proxy(registry.port(), {});
  HttpClient http(FastRetries());
  HttpRequest request;
  request.url = "http://" + proxy.host() + "/v2/nothing/manifests/latest";
  CHECK(http.Send(request).status == 404);
  CHECK(proxy.requests() == 1);
}

TEST_CASE("a refused connection is a transient transport error after the retries") {
  int port = bld::testing::FreeLoopbackPort();
  HttpClient http(FastRetries());
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/v2/";
  int retries = 0;
  request.on_retry = [&](const std::string&) { ++retries; };
  try {
    http.Send(request);
    FAIL("no error");
  } catch (const TransportError& e) {
    CHECK(e.kind() == TransportError::Kind::kConnection);
    CHECK_THAT(e.what(), Catch::Contains("127.0.0.1:" + std::to_string(port)) &&
                             Catch::EndsWith("(gave up after " + std::to_string(http.options().retry.max_attempts) +
                                             " tries)"));
  }
  CHECK(retries == http.options().retry.max_attempts - 1);
}

TEST_CASE("a loopback registry is reached directly even when a proxy is set") {
  RegistryServer registry;
  std::string old = std::getenv("http_proxy") ? std::getenv("http_proxy") : "";
  setenv("http_proxy", "http://127.0.0.1:9/", 1);
  unsetenv("no_proxy");
  HttpClient http(FastRetries());
  HttpRequest request;
  request.url = "http://" + registry.host() + "/v2/";
  auto response = http.Send(request);
  if (old.empty())
    unsetenv("http_proxy");
  else
    setenv("http_proxy", old.c_str(), 1);
  CHECK(response.status == 200);
}

TEST_CASE("a body larger than the request allows is refused") {
  RegistryServer registry;
  HttpClient http(FastRetries());
  HttpRequest request;
  request.url = "http://" + registry.host() + "/v2/_catalog";
  request.max_body_size = 4;
  CHECK_THROWS_WITH(http.Send(request), Catch::Contains("larger than the 4 bytes"));
}
