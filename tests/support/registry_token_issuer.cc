#include "support/registry_token_issuer.h"

#include <sys/socket.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "store/timestamp.h"

namespace bld::testing {

namespace {

using nlohmann::json;

// Accepted a little before "now" so that a registry whose clock reads a
// moment earlier does not refuse a fresh token.
constexpr int kNotBeforeSlackSeconds = 10;
constexpr size_t kMaxBodySize = 64 * 1024;

std::string RandomHex(size_t bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    default: return "Error";
  }
}

void Respond(int fd, int status, const std::string& body) {
  WriteAll(fd, "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) +
                   "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\nConnection: close\r\n\r\n" + body);
}

}  // namespace

TokenIssuer::TokenIssuer(Options options)
    : options_(std::move(options)), key_(MakeSigningKey()), listener_(ListenLoopback()), port_(listener_.port) {
  thread_ = std::thread([this] { Serve(); });
}

TokenIssuer::~TokenIssuer() {
  stopping_ = true;
  listener_.socket.Shutdown();
  thread_.join();
}

void TokenIssuer::Serve() {
  while (!stopping_) {
    int fd = ::accept4(listener_.socket.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    Handle(Socket(fd));
  }
}

void TokenIssuer::Handle(Socket client) {
  std::string buffer;
  std::optional<HttpHead> head = ReadHttpHead(client.fd(), buffer);
  if (!head) return;
  std::istringstream start(head->start_line);
  std::string method, target;
  start >> method >> target;
  std::string path = target.substr(0, target.find('?'));
  std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
  std::string body;
  size_t length = std::stoul(head->Header("content-length").value_or("0"));
  if (length > kMaxBodySize || !ReadExactly(client.fd(), buffer, length, body)) return;
  if (path != "/token") return Respond(client.fd(), 404, R"({"details":"not found"})");

  const std::string incorrect = R"({"details":"incorrect username or password"})";
  std::string user;
  std::string scopes;
  bool offline = false;
  if (method == "POST") {
    ++posts_;
    if (!options_.accept_post) return Respond(client.fd(), 404, R"({"details":"not found"})");
    auto form = ParseQuery(body);
    auto field = [&](const std::string& name) {
      auto it = form.find(name);
      return it == form.end() ? std::string() : it->second;
    };
    std::string grant = field("grant_type");
    if (grant == "password") {
      if (field("username") != options_.username || field("password") != options_.password) {
        ++refused_;
        return Respond(client.fd(), 401, incorrect);
      }
    } else if (grant == "refresh_token") {
      std::lock_guard lock(mutex_);
      if (!refresh_tokens_.count(field("refresh_token"))) {
        ++refused_;
        return Respond(client.fd(), 401, R"({"error":"invalid_grant","error_description":"unknown refresh token"})");
      }
    } else {
      return Respond(client.fd(), 400, R"({"error":"unsupported_grant_type"})");
    }
    user = options_.username;
    scopes = field("scope");
    offline = field("access_type") == "offline";
  } else if (method == "GET") {
    ++gets_;
    auto params = ParseQuery(query);
    for (auto [it, end] = params.equal_range("scope"); it != end; ++it) scopes += (scopes.empty() ? "" : " ") + it->second;
    if (std::optional<std::string> auth = head->Header("authorization")) {
      std::string decoded = auth->starts_with("Basic ") ? Base64Decode(auth->substr(6)) : "";
      if (decoded != options_.username + ":" + options_.password) {
        ++refused_;
        return Respond(client.fd(), 401, incorrect);
      }
      user = options_.username;
    }
  } else {
    return Respond(client.fd(), 404, R"({"details":"not found"})");
  }
  Respond(client.fd(), 200, Answer(user, scopes, offline));
}

std::string TokenIssuer::Answer(const std::string& user, const std::string& scopes, bool offline) {
  json access = json::array();
  std::istringstream list(scopes);
  std::string scope;
  while (list >> scope) {
    size_t first = scope.find(':');
    size_t last = scope.rfind(':');
    if (user.empty() || first == std::string::npos || first == last) continue;
    json actions = json::array();
    std::istringstream names(scope.substr(last + 1));
    for (std::string a; std::getline(names, a, ',');) actions.push_back(a);
    access.push_back({{"type", scope.substr(0, first)}, {"name", scope.substr(first + 1, last - first - 1)},
                      {"actions", actions}});
  }
  std::time_t now = std::time(nullptr);
  json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", key_.kid}};
  json claims = {{"iss", options_.issuer},
                 {"sub", user},
                 {"aud", options_.service},
                 {"exp", now + options_.lifetime_seconds},
                 {"nbf", now - kNotBeforeSlackSeconds},
                 {"iat", now},
                 {"jti", RandomHex(16)},
                 {"access", access}};
  std::string signing_input = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
  std::string token = signing_input + "." + Base64Url(SignRs256(key_.key_pem, signing_input));
  json answer = {{"token", token},
                 {"access_token", token},
                 {"expires_in", options_.lifetime_seconds},
                 {"issued_at", bld::store::FormatTimestamp(std::chrono::system_clock::from_time_t(now))}};
  if (offline && !user.empty()) {
    std::string refresh = RandomHex(24);
    std::lock_guard lock(mutex_);
    refresh_tokens_.insert(refresh);
    answer["refresh_token"] = refresh;
  }
  return answer.dump();
}

}  // namespace bld::testing
