// Fetching one file by URL, for `ADD <url>`: a plain GET through the
// registry's HTTP client, so that ADD keeps the transport rules pulls keep:
//  - connect and stall timeouts, and retries with backoff of connection
//    failures, 408, 429 and 5xx (HttpClient);
//  - TLS verified against the system CAs plus the host's certs.d CAs and
//    client certificate (RegistryHosts); plain HTTP only where the URL says
//    http;
//  - proxies from the environment, never for a loopback host;
//  - redirects followed, but never from HTTPS down to plain HTTP;
//  - a size limit: a Content-Length above it is refused before any byte is
//    written, and a body that grows past it is cut off with an error.
// A transfer that breaks after part of the body arrived starts again from
// the beginning (the file is rewound and truncated), within the client's
// retry policy.
//
// Thread safety: FetchUrl may be called from several threads at once with
// one client, each with its own descriptor.
#pragma once

#include <cstdint>
#include <string>

#include "registry/host_config.h"
#include "registry/http_client.h"
#include "store/digest.h"

namespace bld::registry {

// What ADD <url> fetches is a release archive, a binary or a config file:
// megabytes, at most a few GiB. The file waits under <root>/tmp before it is
// copied into a layer, so a server that streams without end would fill the
// disk the store lives on; 8 GiB is past any file ADD is used for and stops
// such a server long before a disk of a build machine fills up.
inline constexpr uint64_t kMaxUrlFetchSize = uint64_t{8} << 30;

struct FetchedFile {
  store::Digest digest;       // sha256 of the content
  uint64_t size = 0;
  int64_t last_modified = 0;  // seconds since the epoch; 0 when the server sent none
  std::string url;            // after redirects
};

// GETs `url` into `fd`, a regular file, from its start (it is truncated to
// the content). Throws bld::Error beginning "GET <url>: " for a transport
// failure, an answer other than 2xx (with its status), a refused redirect,
// or a body larger than `max_bytes`.
FetchedFile FetchUrl(HttpClient& client, const RegistryHosts& hosts, const std::string& url, int fd,
                     uint64_t max_bytes = kMaxUrlFetchSize);

}  // namespace bld::registry
