#include "registry/url_fetch.h"

#include <unistd.h>

#include <charconv>

#include "registry/curl_library.h"
#include "store/error.h"
#include "store/fd_io.h"

namespace bld::registry {

namespace {

// Signed download URLs carry their credentials in the query: messages show
// the URL without it, as the HTTP client's own do.
std::string Described(const std::string& url) { return "GET " + url.substr(0, url.find('?')); }

void Rewind(int fd, const std::string& what) {
  if (::lseek(fd, 0, SEEK_SET) != 0 || ::ftruncate(fd, 0) != 0)
    throw SysError(what + ": cannot rewind the download file");
}

[[noreturn]] void TooLarge(const std::string& what, const std::string& size, uint64_t max_bytes) {
  throw Error(what + ": the file is " + size + ", more than the " + std::to_string(max_bytes) +
              " bytes a URL source may have; refusing it");
}

int64_t LastModified(const HttpResponse& response) {
  std::optional<std::string> value = response.Header("last-modified");
  if (!value) return 0;
  time_t when = Curl().getdate(value->c_str(), nullptr);
  return when > 0 ? static_cast<int64_t>(when) : 0;
}

// One GET from the start of the file; a transfer that broke midway throws
// the client's TransportError with the bytes received.
FetchedFile FetchOnce(HttpClient& client, const HttpRequest& base, int fd, uint64_t max_bytes,
                      const std::string& what) {
  Rewind(fd, what);
  store::Sha256 hash;
  uint64_t size = 0;
  HttpRequest request = base;
  request.on_response = [&](const HttpResponse& head) {
    std::optional<std::string> length = head.Header("content-length");
    uint64_t announced = 0;
    if (length && std::from_chars(length->data(), length->data() + length->size(), announced).ec == std::errc() &&
        announced > max_bytes)
      TooLarge(what, std::to_string(announced) + " bytes", max_bytes);
  };
  request.sink = [&](const char* data, size_t n) {
    if (size + n > max_bytes) TooLarge(what, "larger than that", max_bytes);
    hash.Update(data, n);
    store::WriteAll(fd, data, n, "the download file of " + what);
    size += n;
  };
  HttpResponse response = client.Send(request);
  if (!response.ok()) throw Error(what + ": the server answered HTTP " + std::to_string(response.status));
  return FetchedFile{hash.Finish(), size, LastModified(response), response.url};
}

}  // namespace

FetchedFile FetchUrl(HttpClient& client, const RegistryHosts& hosts, const std::string& url, int fd,
                     uint64_t max_bytes) {
  std::string what = Described(url);
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    throw Error(what + ": only http:// and https:// URLs can be fetched");
  HttpRequest request;
  request.url = url;
  request.tls = hosts.For(UrlHost(url)).tls;
  for (int attempt = 1;; ++attempt) {
    try {
      return FetchOnce(client, request, fd, max_bytes, what);
    } catch (const TransportError& e) {
      // The client retries failures before the body; one that broke the body
      // midway is started again here, from the beginning.
      if (!e.transient() || e.body_received() == 0 || attempt >= client.options().retry.max_attempts) throw;
    }
  }
}

}  // namespace bld::registry
