#include "support/registry_fault_proxy.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

namespace bld::testing {

namespace {

constexpr size_t kChunk = 64 * 1024;
// The first byte of a TLS record carrying a handshake message.
constexpr char kTlsHandshakeRecord = 0x16;
constexpr std::string_view kUnavailableBody =
    R"json({"errors":[{"code":"UNAVAILABLE","message":"service unavailable (injected by the test proxy)"}]})json";

// Up to `max` bytes: from `buffer` first, else one recv. Empty at the end.
std::string ReadSome(int fd, std::string& buffer, size_t max) {
  if (!buffer.empty()) {
    std::string out = buffer.substr(0, max);
    buffer.erase(0, out.size());
    return out;
  }
  std::string out(std::min(max, kChunk), '\0');
  for (;;) {
    ssize_t n = ::recv(fd, out.data(), out.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }
}

bool ReadLine(int fd, std::string& buffer, std::string& line) {
  size_t end;
  while ((end = buffer.find("\r\n")) == std::string::npos) {
    std::string more = ReadSome(fd, buffer, kChunk);
    if (more.empty()) return false;
    buffer += more;
  }
  line = buffer.substr(0, end + 2);
  buffer.erase(0, end + 2);
  return true;
}

// The bytes of `data` (which starts `before` bytes into a counted stream)
// that come before `threshold`.
size_t PartBefore(uint64_t before, uint64_t threshold, size_t size) {
  return threshold > before ? static_cast<size_t>(std::min<uint64_t>(size, threshold - before)) : 0;
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port, Faults faults)
    : upstream_port_(upstream_port), faults_(faults), listener_(ListenLoopback()), port_(listener_.port) {
  acceptor_ = std::thread([this] { Serve(); });
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  listener_.socket.Shutdown();
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& t : connections_) t.join();
}

void FaultProxy::Serve() {
  while (!stopping_) {
    int fd = ::accept4(listener_.socket.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mutex_);
    open_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { Handle(fd); });
  }
}

void FaultProxy::Handle(int client_fd) {
  Socket client(client_fd);
  Socket upstream;
  auto forget = [this](int fd) {
    std::lock_guard lock(mutex_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  };
  std::string client_buffer, upstream_buffer;
  // A TLS ClientHello (a client trying HTTPS first): this proxy speaks plain
  // HTTP only, and says so by hanging up, as fast as an HTTP server would.
  char first = 0;
  if (::recv(client.fd(), &first, 1, MSG_PEEK) == 1 && first == kTlsHandshakeRecord) {
    forget(client.fd());
    return;
  }
  while (!stopping_) {
    std::optional<HttpHead> head = ReadHttpHead(client.fd(), client_buffer);
    if (!head) break;
    std::istringstream start(head->start_line);
    std::string method, target;
    start >> method >> target;
    uint64_t length = std::stoull(head->Header("content-length").value_or("0"));
    bool is_blob = method == "GET" && target.find("/blobs/sha256:") != std::string::npos;

    if (++requests_ <= faults_.fail_first_requests) {
      std::string discarded;
      if (!ReadExactly(client.fd(), client_buffer, length, discarded)) break;
      ++failed_requests_;
      WriteAll(client.fd(), "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(kUnavailableBody.size()) + "\r\n\r\n" + std::string(kUnavailableBody));
      continue;
    }
    if (!upstream.valid()) {
      upstream = ConnectLoopback(upstream_port_);
      if (!upstream.valid()) break;
      std::lock_guard lock(mutex_);
      open_fds_.push_back(upstream.fd());
    }
    bool hold = faults_.buffer_request_bodies;
    // Flip the body's first byte: the registry's digest check refuses it.
    bool corrupt_upload = (method == "PUT" || method == "PATCH") && length > 0 &&
                          damaged_uploads_.fetch_add(1) < faults_.corrupt_first_uploads;
    if (!hold && !WriteAll(upstream.fd(), head->raw)) break;
    std::string held;
    bool dropped = false;
    for (uint64_t remaining = length; remaining > 0;) {
      std::string chunk = ReadSome(client.fd(), client_buffer, static_cast<size_t>(std::min<uint64_t>(remaining, kChunk)));
      if (chunk.empty()) break;
      if (corrupt_upload && remaining == length) chunk[0] ^= 0x5a;
      remaining -= chunk.size();
      uint64_t before = request_body_bytes_.fetch_add(chunk.size());
      if (faults_.drop_request_after && before + chunk.size() >= faults_.drop_request_after &&
          !request_drop_done_.exchange(true)) {
        if (!hold) WriteAll(upstream.fd(), chunk.substr(0, PartBefore(before, faults_.drop_request_after, chunk.size())));
        ++dropped_;
        dropped = true;
        break;
      }
      if (hold) {
        held += chunk;
      } else if (!WriteAll(upstream.fd(), chunk)) {
        break;
      }
    }
    if (dropped) break;
    if (hold && !WriteAll(upstream.fd(), head->raw + held)) break;
    if (!ForwardAnswer(client.fd(), upstream.fd(), upstream_buffer, method, is_blob)) break;
  }
  forget(client.fd());
  if (upstream.valid()) forget(upstream.fd());
}

bool FaultProxy::ForwardAnswer(int client, int upstream, std::string& buffer, const std::string& method, bool is_blob) {
  std::optional<HttpHead> head = ReadHttpHead(upstream, buffer);
  if (!head) return false;
  int status = 0;
  std::istringstream(head->start_line.substr(head->start_line.find(' ') + 1)) >> status;
  bool keep_open = head->Header("connection").value_or("") != "close";
  bool blob_body = is_blob && (status == 200 || status == 206);
  std::optional<std::string> length = head->Header("content-length");
  uint64_t total = length ? std::stoull(*length) : 0;
  bool damage = blob_body && length && total >= faults_.corrupt_min_size;
  bool corrupt = false, truncate = false;
  if (damage && (faults_.corrupt_first_blobs > 0 || faults_.truncate_first_blobs > 0)) {
    int n = damaged_blobs_.fetch_add(1);
    corrupt = n < faults_.corrupt_first_blobs;
    truncate = !corrupt && n < faults_.corrupt_first_blobs + faults_.truncate_first_blobs;
  } else if (damage && faults_.corrupt_blobs) {
    corrupt = true;
    ++damaged_blobs_;
  }
  if (truncate) {
    // A complete answer, half the body: the head says so, the connection
    // closes after it (what is left upstream is never read).
    std::string raw = head->raw;
    size_t at = 0;
    while ((at = raw.find('\n', at)) != std::string::npos) {
      ++at;
      if (raw.compare(at, 15, "Content-Length:") == 0 || raw.compare(at, 15, "content-length:") == 0) {
        size_t end = raw.find("\r\n", at);
        raw.replace(at, end - at, "Content-Length: " + std::to_string(total / 2));
        break;
      }
    }
    std::string half;
    if (!ReadExactly(upstream, buffer, total / 2, half)) return false;
    WriteAll(client, raw + half);
    return false;
  }
  if (!WriteAll(client, head->raw)) return false;
  if (method == "HEAD" || status / 100 == 1 || status == 204 || status == 304) return keep_open;

  if (length) {
    for (uint64_t sent = 0; sent < total;) {
      std::string chunk = ReadSome(upstream, buffer, static_cast<size_t>(std::min<uint64_t>(total - sent, kChunk)));
      if (chunk.empty()) return false;
      if (blob_body) {
        // Flip the middle byte of the blob.
        uint64_t middle = total / 2;
        if (corrupt && middle >= sent && middle < sent + chunk.size()) chunk[middle - sent] ^= 0x5a;
        uint64_t before = blob_response_bytes_.fetch_add(chunk.size());
        if (faults_.drop_response_after && before + chunk.size() >= faults_.drop_response_after &&
            !response_drop_done_.exchange(true)) {
          WriteAll(client, chunk.substr(0, PartBefore(before, faults_.drop_response_after, chunk.size())));
          ++dropped_;
          return false;
        }
      }
      if (!WriteAll(client, chunk)) return false;
      sent += chunk.size();
    }
    return keep_open;
  }
  if (head->Header("transfer-encoding").value_or("") == "chunked") {
    for (;;) {
      std::string line;
      if (!ReadLine(upstream, buffer, line) || !WriteAll(client, line)) return false;
      uint64_t size = std::stoull(line, nullptr, 16);
      if (size == 0) {
        // Trailers, up to the blank line.
        while (line != "\r\n")
          if (!ReadLine(upstream, buffer, line) || !WriteAll(client, line)) return false;
        return keep_open;
      }
      std::string data;
      if (!ReadExactly(upstream, buffer, size + 2, data) || !WriteAll(client, data)) return false;
    }
  }
  // Neither: the body runs to the end of the connection.
  for (std::string chunk; !(chunk = ReadSome(upstream, buffer, kChunk)).empty();)
    if (!WriteAll(client, chunk)) break;
  return false;
}

}  // namespace bld::testing
