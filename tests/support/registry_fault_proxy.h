// A TCP proxy in front of a test registry that injects the failures a real
// network and real registries produce, and counts what goes through it.
//
// It understands just enough HTTP/1.1 to know where each request and answer
// ends (Content-Length and chunked bodies, one request at a time per
// connection, as libcurl sends them), and can:
//  - answer 503 to the first K requests without forwarding them;
//  - drop a connection once a number of request-body bytes has come in,
//    either forwarding the body as it arrives (the registry sees the partial
//    chunk, as with a direct connection) or holding each body until it is
//    complete, as nginx's default proxy_request_buffering does (the registry
//    never sees a request whose client went away);
//  - drop a connection once a number of blob bytes has gone out (a download
//    cut midway);
//  - corrupt the body of blob GET answers (one byte flipped), optionally only
//    of blobs above a size, and all of them or only the first few;
//  - cut the first few blob GET answers to half their body, with a
//    Content-Length that says so (an answer that is complete but short);
//  - corrupt the body of the first few uploads (one byte flipped), which the
//    registry then refuses as DIGEST_INVALID.
// The Host header is passed through, so a registry's absolute Location URLs
// point back at the proxy. A client that tries TLS first is hung up on, as
// a plain HTTP server answers one.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/registry_net.h"

namespace bld::testing {

class FaultProxy {
 public:
  struct Faults {
    int fail_first_requests = 0;
    // Once this many request-body bytes have come in (over all requests),
    // drop that connection, once; 0: never.
    uint64_t drop_request_after = 0;
    bool buffer_request_bodies = false;
    // Once this many blob-answer body bytes have gone out, drop that
    // connection, once; 0: never.
    uint64_t drop_response_after = 0;
    bool corrupt_blobs = false;
    // Only blob answers at least this large are corrupted or cut (to spare
    // configs).
    uint64_t corrupt_min_size = 0;
    // Corrupt only the first this many blob answers (and corrupt_blobs
    // need not be set); 0: as corrupt_blobs says.
    int corrupt_first_blobs = 0;
    // Cut the first this many blob answers to half their body.
    int truncate_first_blobs = 0;
    // Flip a byte in the body of the first this many PUT or PATCH requests.
    int corrupt_first_uploads = 0;
  };

  FaultProxy(int upstream_port, Faults faults);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

  uint64_t request_body_bytes() const { return request_body_bytes_; }
  uint64_t blob_response_bytes() const { return blob_response_bytes_; }
  int requests() const { return requests_; }
  int failed_requests() const { return failed_requests_; }
  int dropped_connections() const { return dropped_; }
  // Blob answers corrupted or cut, and uploads corrupted.
  int damaged_blobs() const { return damaged_blobs_; }
  int damaged_uploads() const { return damaged_uploads_; }

 private:
  void Serve();
  void Handle(int client_fd);
  // Forwards one answer from upstream to the client; false to close.
  bool ForwardAnswer(int client, int upstream, std::string& upstream_buffer, const std::string& method, bool is_blob);

  int upstream_port_;
  Faults faults_;
  Listener listener_;
  int port_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> request_body_bytes_{0};
  std::atomic<uint64_t> blob_response_bytes_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> failed_requests_{0};
  std::atomic<int> dropped_{0};
  std::atomic<int> damaged_blobs_{0};
  std::atomic<int> damaged_uploads_{0};
  std::atomic<bool> request_drop_done_{false};
  std::atomic<bool> response_drop_done_{false};
  std::mutex mutex_;
  std::vector<int> open_fds_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

}  // namespace bld::testing
