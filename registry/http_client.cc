#include "registry/http_client.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "registry/curl_library.h"

namespace bld::registry {

namespace {

// Idle handles kept for reuse, each with its own connection cache. Pulls and
// pushes run three transfers at once; a few spare handles cover the token
// server and the ping.
constexpr size_t kMaxIdleHandles = 8;
// libcurl's defaults are 16 KiB down and 64 KiB up; a layer of hundreds of
// MiB then costs tens of thousands of callbacks into the hashing sink.
constexpr long kReceiveBufferSize = 256 * 1024;
constexpr long kUploadBufferSize = 256 * 1024;
// Registries redirect a blob GET once, to their storage; ten is what Go's
// client (docker's) allows before calling it a loop.
constexpr long kMaxRedirects = 10;
// The start of an error body kept when the request streams to a sink: enough
// for the registry's {"errors": [...]} document, not for a misdirected blob.
constexpr size_t kMaxErrorBodySize = 64 * 1024;
// Retry delays are spread by up to this fraction so that the parallel
// transfers of one push, failed by the same outage, do not retry in lockstep.
constexpr double kRetryJitter = 0.2;
// How often a retry wait looks at the cancel flag.
constexpr std::chrono::milliseconds kCancelPollInterval{50};

class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  ~HeaderList() { Curl().slist_free_all(list_); }

  void Append(const std::string& header) {
    curl_slist* next = Curl().slist_append(list_, header.c_str());
    if (!next) throw Error("out of memory building HTTP headers");
    list_ = next;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

struct CurlUrlFree {
  void operator()(CURLU* url) const { Curl().url_cleanup(url); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlFree>;

struct CurlFree {
  void operator()(char* s) const { Curl().free(s); }
};
using CurlString = std::unique_ptr<char, CurlFree>;

CurlUrl ParseUrl(const std::string& url) {
  CurlUrl u(Curl().url());
  if (!u) throw Error("out of memory parsing a URL");
  CURLUcode rc = Curl().url_set(u.get(), CURLUPART_URL, url.c_str(), 0);
  if (rc != CURLUE_OK) throw Error("invalid URL \"" + url + "\": " + Curl().url_strerror(rc));
  return u;
}

std::string UrlPart(CURLU* u, CURLUPart part) {
  char* out = nullptr;
  if (Curl().url_get(u, part, &out, 0) != CURLUE_OK || !out) return "";
  CurlString owned(out);
  return owned.get();
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Upload URLs carry long opaque state tokens in their query: messages show
// the path only.
std::string UrlForMessage(const std::string& url) { return url.substr(0, url.find('?')); }

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(const std::optional<std::string>& value) {
  if (!value) return std::nullopt;
  std::string_view v = Trim(*value);
  long seconds = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec == std::errc() && end == v.data() + v.size() && seconds >= 0) return std::chrono::seconds(seconds);
  time_t when = Curl().getdate(std::string(v).c_str(), nullptr);
  if (when < 0) return std::nullopt;
  time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

// What one attempt collects from libcurl's callbacks.
struct Transfer {
  explicit Transfer(const HttpRequest& r) : request(r) {}

  const HttpRequest& request;
  HttpResponse response;
  store::ByteSource body;
  uint64_t delivered = 0;
  bool body_started = false;
  bool body_too_large = false;
  bool cancelled = false;
  std::exception_ptr callback_error;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t length = size * count;
  std::string_view line = Trim(std::string_view(data, length));
  if (line.starts_with("HTTP/")) {
    // A new answer (after a redirect or a 100 Continue): start over.
    t->body_started = false;
    t->response.headers.clear();
    t->response.body.clear();
    size_t space = line.find(' ');
    long status = 0;
    if (space != std::string_view::npos)
      std::from_chars(line.data() + space + 1, line.data() + line.size(), status);
    t->response.status = status;
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    t->response.headers.emplace_back(ToLower(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1))));
  }
  return length;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t length = size * count;
  HttpResponse& r = t->response;
  if (r.ok() && t->request.sink) {
    try {
      if (!t->body_started && t->request.on_response) t->request.on_response(r);
      t->body_started = true;
      t->request.sink(data, length);
    } catch (...) {
      t->callback_error = std::current_exception();
      return 0;
    }
    t->delivered += length;
    return length;
  }
  bool keeping_error = t->request.sink || !r.ok();
  size_t limit = t->request.sink ? kMaxErrorBodySize : t->request.max_body_size;
  if (r.body.size() + length > limit) {
    if (!keeping_error) {
      t->body_too_large = true;
      return 0;
    }
    r.body.append(data, limit - std::min(limit, r.body.size()));
    return length;
  }
  r.body.append(data, length);
  return length;
}

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  try {
    return t->body(buffer, size * count);
  } catch (...) {
    t->callback_error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

// Rewinds a request body to its start, for libcurl's resend after a reused
// connection turned out dead. Only bodies of requests that may be sent twice.
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (offset != 0 || origin != SEEK_SET || !t->request.retry || !t->request.body) return CURL_SEEKFUNC_CANTSEEK;
  try {
    t->body = t->request.body->open();
  } catch (...) {
    t->callback_error = std::current_exception();
    return CURL_SEEKFUNC_FAIL;
  }
  return CURL_SEEKFUNC_OK;
}

int OnProgress(void* user, curl_off_t, curl_off_t received, curl_off_t, curl_off_t sent) {
  auto* t = static_cast<Transfer*>(user);
  if (t->request.cancel && t->request.cancel->load()) {
    t->cancelled = true;
    return 1;
  }
  if (t->request.progress) {
    try {
      t->request.progress(static_cast<uint64_t>(sent), static_cast<uint64_t>(received));
    } catch (...) {
      t->callback_error = std::current_exception();
      return 1;
    }
  }
  return 0;
}

TransportError::Kind KindOf(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    // libcurl resends a request whose reused connection died, which needs the
    // body from its start: a body it may not rewind means the same drop.
    case CURLE_SEND_FAIL_REWIND:
      return TransportError::Kind::kConnection;
    case CURLE_SSL_CONNECT_ERROR:
      return TransportError::Kind::kTlsHandshake;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return TransportError::Kind::kCertificate;
    default:
      return TransportError::Kind::kOther;
  }
}

// A failed transfer in bld's words. libcurl's messages name its own
// machinery where bld knows what happened to the connection; they are kept
// only where they carry facts of their own (the address that refused, the
// TLS library's reason).
std::string Describe(CURLcode rc, const std::string& libcurl_detail) {
  switch (rc) {
    case CURLE_SEND_FAIL_REWIND:
      // libcurl resends a request whose reused connection turned out dead;
      // an upload chunk that may not be sent twice cannot be.
      return "the connection closed while the request was being sent, and this part of the upload cannot be "
             "sent again as it is";
    case CURLE_GOT_NOTHING:
      return "the server closed the connection without answering";
    case CURLE_PARTIAL_FILE:
      return "the connection closed before the whole answer arrived";
    case CURLE_SEND_ERROR:
      return "the connection broke while the request was being sent";
    case CURLE_RECV_ERROR:
      return "the connection broke while the answer was arriving";
    case CURLE_OPERATION_TIMEDOUT:
      return "the connection timed out: nothing moved for too long";
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_READ_ERROR:
    case CURLE_WRITE_ERROR:
      return "the transfer was stopped";
    default:
      return libcurl_detail;
  }
}

void SleepUnlessCancelled(std::chrono::milliseconds delay, const std::atomic<bool>* cancel, const std::string& url) {
  auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (cancel && cancel->load())
      throw TransportError("request to " + UrlForMessage(url) + " cancelled", TransportError::Kind::kCancelled, 0);
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        kCancelPollInterval, until - std::chrono::steady_clock::now()));
  }
}

}  // namespace

std::chrono::milliseconds RetryPolicy::Delay(int retry, std::optional<std::chrono::milliseconds> retry_after) const {
  if (retry_after) return std::min(*retry_after, max_retry_after);
  auto delay = initial_delay;
  for (int i = 1; i < retry && delay < max_delay; ++i) delay *= 2;
  delay = std::min(delay, max_delay);
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> spread(1.0 - kRetryJitter, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(delay.count()) * spread(rng)));
}

HttpBody HttpBody::FromString(std::string data) {
  auto shared = std::make_shared<const std::string>(std::move(data));
  HttpBody body;
  body.size = shared->size();
  body.open = [shared] {
    auto offset = std::make_shared<size_t>(0);
    return store::ByteSource([shared, offset](void* out, size_t size) {
      size_t n = std::min(size, shared->size() - *offset);
      std::copy_n(shared->data() + *offset, n, static_cast<char*>(out));
      *offset += n;
      return n;
    });
  };
  return body;
}

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  std::string lower = ToLower(name);
  for (const auto& [k, v] : headers)
    if (k == lower) return v;
  return std::nullopt;
}

std::vector<std::string> HttpResponse::HeaderValues(std::string_view name) const {
  std::string lower = ToLower(name);
  std::vector<std::string> values;
  for (const auto& [k, v] : headers)
    if (k == lower) values.push_back(v);
  return values;
}

bool IsRetryableStatus(long status) { return status == 408 || status == 429 || (status >= 500 && status < 600); }

std::pair<std::string, std::string> SplitHostPort(std::string_view host) {
  if (host.starts_with('[')) {
    size_t end = host.find(']');
    if (end == std::string_view::npos) return {std::string(host), ""};
    std::string_view rest = host.substr(end + 1);
    return {std::string(host.substr(1, end - 1)), rest.starts_with(':') ? std::string(rest.substr(1)) : ""};
  }
  size_t colon = host.find(':');
  if (colon == std::string_view::npos || host.find(':', colon + 1) != std::string_view::npos)
    return {std::string(host), ""};
  return {std::string(host.substr(0, colon)), std::string(host.substr(colon + 1))};
}

bool IsLoopbackHost(std::string_view host) {
  std::string name = ToLower(SplitHostPort(host).first);
  if (name == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, name.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, name.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::string ResolveUrl(const std::string& base, const std::string& location) {
  CurlUrl u = ParseUrl(base);
  CURLUcode rc = Curl().url_set(u.get(), CURLUPART_URL, location.c_str(), 0);
  if (rc != CURLUE_OK)
    throw Error("invalid location \"" + location + "\" in an answer from " + UrlForMessage(base) + ": " +
                Curl().url_strerror(rc));
  return UrlPart(u.get(), CURLUPART_URL);
}

std::string UrlEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::string UrlHost(const std::string& url) {
  CurlUrl u = ParseUrl(url);
  std::string host = UrlPart(u.get(), CURLUPART_HOST);
  std::string port = UrlPart(u.get(), CURLUPART_PORT);
  return port.empty() ? host : host + ":" + port;
}

class HttpClient::Handle {
 public:
  Handle() : curl_(Curl().easy_init()) {
    if (!curl_) throw Error("cannot create a libcurl handle");
  }
  ~Handle() { Curl().easy_cleanup(curl_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  CURL* get() const { return curl_; }

 private:
  CURL* curl_;
};

// DNS answers and TLS sessions shared by every handle of the client. (The
// connection cache is not shared: libcurl does not support that across
// threads, so each handle keeps its own and handles are reused instead.)
struct HttpClient::Share {
  Share() : handle(Curl().share_init()) {
    if (!handle) throw Error("cannot create a libcurl share handle");
    Curl().share_setopt(handle, CURLSHOPT_LOCKFUNC, &Share::Lock);
    Curl().share_setopt(handle, CURLSHOPT_UNLOCKFUNC, &Share::Unlock);
    Curl().share_setopt(handle, CURLSHOPT_USERDATA, this);
    Curl().share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    Curl().share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~Share() { Curl().share_cleanup(handle); }
  Share(const Share&) = delete;
  Share& operator=(const Share&) = delete;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Share*>(user)->locks[static_cast<size_t>(data)].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Share*>(user)->locks[static_cast<size_t>(data)].unlock();
  }

  CURLSH* handle;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;
};

HttpClient::HttpClient(Options options) : options_(std::move(options)) {
  share_ = std::make_unique<Share>();
}

HttpClient::~HttpClient() { idle_.clear(); }

std::unique_ptr<HttpClient::Handle> HttpClient::Acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Handle> handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  return std::make_unique<Handle>();
}

void HttpClient::Release(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(handle));
}

std::shared_ptr<const std::string> HttpClient::CaBundle(const std::vector<std::string>& ca_files) {
  std::string key;
  for (const std::string& f : ca_files) key += f + '\n';
  std::lock_guard lock(mutex_);
  auto it = ca_bundles_.find(key);
  if (it != ca_bundles_.end()) return it->second;
  // libcurl takes one CA list per transfer: the system bundle libcurl was
  // built with, then the registry's own CAs.
  std::string bundle;
  Handle probe;
  char* system_bundle = nullptr;
  if (Curl().easy_getinfo(probe.get(), CURLINFO_CAINFO, &system_bundle) == CURLE_OK && system_bundle)
    bundle = ReadFileOrEmpty(system_bundle) + "\n";
  for (const std::string& f : ca_files) {
    std::string pem = ReadFileOrEmpty(f);
    if (pem.empty()) throw Error("cannot read the CA certificate " + f);
    bundle += pem + "\n";
  }
  auto shared = std::make_shared<const std::string>(std::move(bundle));
  ca_bundles_.emplace(key, shared);
  return shared;
}

HttpResponse HttpClient::Send(const HttpRequest& request) {
  for (int attempt = 1;; ++attempt) {
    bool last = !request.retry || attempt >= options_.retry.max_attempts;
    std::string reason;
    std::optional<std::chrono::milliseconds> retry_after;
    try {
      HttpResponse response = SendOnce(request);
      response.attempts = attempt;
      if (last || !IsRetryableStatus(response.status)) return response;
      reason = request.method + " " + UrlForMessage(request.url) + ": HTTP " + std::to_string(response.status);
      retry_after = ParseRetryAfter(response.Header("retry-after"));
    } catch (const TransportError& e) {
      if (!e.transient() || e.body_received() > 0) throw;
      if (last) {
        if (attempt == 1) throw;
        throw TransportError(std::string(e.what()) + " (gave up after " + std::to_string(attempt) + " tries)", e.kind(),
                             e.body_received());
      }
      reason = e.what();
    }
    std::chrono::milliseconds delay = options_.retry.Delay(attempt, retry_after);
    if (request.on_retry)
      request.on_retry(reason + "; retrying in " + std::to_string(delay.count()) + " ms (attempt " +
                       std::to_string(attempt + 1) + " of " + std::to_string(options_.retry.max_attempts) + ")");
    SleepUnlessCancelled(delay, request.cancel, request.url);
  }
}

namespace {

// Where the request goes and how long it may take: the client's timeouts
// and buffers, http(s) only, redirects that never downgrade, no proxy for
// loopback.
void SetConnection(CURL* c, const HttpRequest& request, const HttpClient::Options& options, CURLSH* share) {
  Curl().easy_setopt(c, CURLOPT_URL, request.url.c_str());
  Curl().easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  Curl().easy_setopt(c, CURLOPT_SHARE, share);
  Curl().easy_setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str());
  Curl().easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.timeouts.connect.count()));
  Curl().easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  Curl().easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.timeouts.stalled.count()));
  Curl().easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  Curl().easy_setopt(c, CURLOPT_BUFFERSIZE, kReceiveBufferSize);
  Curl().easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferSize);
  Curl().easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (request.follow_redirects) {
    Curl().easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    Curl().easy_setopt(c, CURLOPT_MAXREDIRS, kMaxRedirects);
    // A redirect never downgrades an HTTPS request to plain HTTP.
    Curl().easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, request.url.starts_with("https:") ? "https" : "http,https");
  }
  if (IsLoopbackHost(UrlHost(request.url))) Curl().easy_setopt(c, CURLOPT_PROXY, "");
}

// `ca_bundle` is the request's CA files, read (null when it names none).
void SetTls(CURL* c, const TlsSettings& tls, const std::string* ca_bundle) {
  if (!tls.verify) {
    Curl().easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    Curl().easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (ca_bundle) {
    curl_blob blob{const_cast<char*>(ca_bundle->data()), ca_bundle->size(), CURL_BLOB_COPY};
    Curl().easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!tls.client_cert.empty()) {
    Curl().easy_setopt(c, CURLOPT_SSLCERT, tls.client_cert.c_str());
    Curl().easy_setopt(c, CURLOPT_SSLKEY, tls.client_key.c_str());
  }
}

// The method, and the body it sends through OnRead.
void SetMethod(CURL* c, const HttpRequest& request, Transfer& t) {
  if (request.body) t.body = request.body->open();
  auto body_size = static_cast<curl_off_t>(request.body ? request.body->size : 0);
  if (request.method == "HEAD") {
    Curl().easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET") {
    Curl().easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "POST") {
    Curl().easy_setopt(c, CURLOPT_POST, 1L);
    Curl().easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, body_size);
    if (!request.body) Curl().easy_setopt(c, CURLOPT_POSTFIELDS, "");
  } else if (request.method == "DELETE") {
    Curl().easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    Curl().easy_setopt(c, CURLOPT_UPLOAD, 1L);
    Curl().easy_setopt(c, CURLOPT_INFILESIZE_LARGE, body_size);
    Curl().easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body) t.body = [](void*, size_t) -> size_t { return 0; };
  }
}

void SetCallbacks(CURL* c, Transfer& t) {
  Curl().easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  Curl().easy_setopt(c, CURLOPT_HEADERDATA, &t);
  Curl().easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  Curl().easy_setopt(c, CURLOPT_WRITEDATA, &t);
  Curl().easy_setopt(c, CURLOPT_READFUNCTION, &OnRead);
  Curl().easy_setopt(c, CURLOPT_READDATA, &t);
  Curl().easy_setopt(c, CURLOPT_SEEKFUNCTION, &OnSeek);
  Curl().easy_setopt(c, CURLOPT_SEEKDATA, &t);
  Curl().easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  Curl().easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  Curl().easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

// Throws what went wrong with a transfer that ended with `rc`: a callback's
// exception, cancellation, a body too large, or libcurl's failure in words
// that say what to do.
void CheckTransfer(const HttpRequest& request, const Transfer& t, CURLcode rc, const char* error_buffer) {
  if (t.callback_error) std::rethrow_exception(t.callback_error);
  std::string what = request.method + " " + UrlForMessage(request.url);
  if (t.cancelled) throw TransportError(what + ": cancelled", TransportError::Kind::kCancelled, t.delivered);
  if (t.body_too_large)
    throw Error(what + ": the answer is larger than the " + std::to_string(request.max_body_size) +
                " bytes expected; refusing it");
  if (rc == CURLE_OK) return;
  std::string detail = Describe(rc, error_buffer[0] ? error_buffer : Curl().easy_strerror(rc));
  TransportError::Kind kind = KindOf(rc);
  if (kind == TransportError::Kind::kCertificate)
    detail += " (to trust a private CA, put it in /etc/docker/certs.d/" + UrlHost(request.url) + "/ca.crt)";
  // libcurl's own words for a redirect CURLOPT_REDIR_PROTOCOLS_STR refused
  // name no redirect; the 3xx answer's Location says where it pointed.
  std::optional<std::string> location = t.response.Header("location");
  if (rc == CURLE_UNSUPPORTED_PROTOCOL && request.url.starts_with("https:") && location) {
    std::string target = ResolveUrl(t.response.url, *location);
    if (target.starts_with("http:"))
      detail = "refusing its redirect to " + UrlForMessage(target) + ": HTTPS is never downgraded to plain HTTP";
  }
  throw TransportError(what + ": " + detail, kind, t.delivered);
}

}  // namespace

HttpResponse HttpClient::SendOnce(const HttpRequest& request) {
  std::unique_ptr<Handle> handle = Acquire();
  CURL* c = handle->get();
  Curl().easy_reset(c);
  Transfer t(request);
  std::array<char, CURL_ERROR_SIZE> error{};
  Curl().easy_setopt(c, CURLOPT_ERRORBUFFER, error.data());
  SetConnection(c, request, options_, share_->handle);
  std::shared_ptr<const std::string> ca_bundle;
  if (request.tls.verify && !request.tls.ca_files.empty()) ca_bundle = CaBundle(request.tls.ca_files);
  SetTls(c, request.tls, ca_bundle.get());
  HeaderList headers;
  for (const std::string& h : request.headers) headers.Append(h);
  // No "Expect: 100-continue" round trip before each upload.
  headers.Append("Expect:");
  Curl().easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  SetMethod(c, request, t);
  SetCallbacks(c, t);

  CURLcode rc = Curl().easy_perform(c);
  long status = 0;
  Curl().easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  char* effective_url = nullptr;
  Curl().easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective_url);
  t.response.url = effective_url ? effective_url : request.url;
  if (rc == CURLE_OK) t.response.status = status;
  Release(std::move(handle));
  CheckTransfer(request, t, rc, error.data());
  return std::move(t.response);
}

}  // namespace bld::registry
