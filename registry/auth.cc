#include "registry/auth.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>

#include "registry/registry_error.h"

namespace bld::registry {

namespace {

// The token spec's default and minimum lifetime: "If omitted, a default of
// 60 seconds should be assumed", and clients may assume at least that.
constexpr int64_t kMinTokenLifetimeSeconds = 60;
// A token is renewed this long before it expires, so that one handed to a
// request does not expire while the request waits in a queue or retries.
constexpr std::chrono::seconds kTokenExpiryMargin{5};
// Identifies bld to token servers that log or require a client id.
constexpr std::string_view kClientId = "bld";

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c));
}

// A cursor over one WWW-Authenticate header value.
class HeaderCursor {
 public:
  explicit HeaderCursor(std::string_view s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  void Advance() { ++pos_; }
  void SkipSpace() {
    while (!done() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  void SkipSeparators() {
    while (!done() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == ',')) ++pos_;
  }
  std::string Token() {
    size_t start = pos_;
    while (!done() && IsTokenChar(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }
  // A quoted-string with backslash escapes; nullopt if it is not terminated.
  std::optional<std::string> Quoted() {
    ++pos_;  // the opening quote
    std::string out;
    while (!done()) {
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c == '\\' && !done()) c = s_[pos_++];
      out += c;
    }
    return std::nullopt;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

std::string ScopeKey(std::vector<std::string> scopes) {
  std::sort(scopes.begin(), scopes.end());
  scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
  std::string key;
  for (const std::string& s : scopes) key += (key.empty() ? "" : " ") + s;
  return key;
}

std::string WithoutQuery(const std::string& url) { return url.substr(0, url.find('?')); }

}  // namespace

std::vector<Challenge> ParseChallenges(const std::vector<std::string>& headers) {
  std::vector<Challenge> challenges;
  for (const std::string& header : headers) {
    HeaderCursor cur(header);
    std::optional<Challenge> current;
    for (;;) {
      cur.SkipSeparators();
      if (cur.done()) break;
      std::string token = cur.Token();
      if (token.empty()) {
        cur.Advance();
        continue;
      }
      cur.SkipSpace();
      if (cur.peek() == '=' && current) {
        cur.Advance();
        cur.SkipSpace();
        std::string value;
        if (cur.peek() == '"') {
          std::optional<std::string> quoted = cur.Quoted();
          if (!quoted) break;
          value = std::move(*quoted);
        } else {
          value = cur.Token();
        }
        current->params[ToLower(token)] = std::move(value);
      } else {
        if (current) challenges.push_back(std::move(*current));
        current = Challenge{ToLower(token), {}};
      }
    }
    if (current) challenges.push_back(std::move(*current));
  }
  return challenges;
}

std::string RepositoryScope(std::string_view repository, std::string_view actions) {
  return "repository:" + std::string(repository) + ":" + std::string(actions);
}

Authorizer::Authorizer(HttpClient& http, const RegistryHosts& hosts, std::string registry,
                       std::optional<Credentials> credentials)
    : http_(http), hosts_(hosts), registry_(std::move(registry)), credentials_(std::move(credentials)) {
  if (credentials_ && credentials_->empty()) credentials_.reset();
}

void Authorizer::SetChallenges(const std::vector<Challenge>& challenges) {
  std::lock_guard lock(mutex_);
  for (const char* scheme : {"bearer", "basic"}) {
    for (const Challenge& c : challenges) {
      if (c.scheme == scheme) {
        challenge_ = c;
        return;
      }
    }
  }
}

bool Authorizer::uses_bearer() const {
  std::lock_guard lock(mutex_);
  return challenge_ && challenge_->scheme == "bearer";
}

std::string Authorizer::Authorization(const std::vector<std::string>& scopes) {
  std::lock_guard lock(mutex_);
  if (!challenge_) return "";
  if (challenge_->scheme == "basic") {
    if (!credentials_ || credentials_->username.empty()) return "";
    return "Basic " + EncodeAuth(credentials_->username, credentials_->password);
  }
  if (challenge_->scheme != "bearer") return "";
  std::string key = ScopeKey(scopes);
  auto it = tokens_.find(key);
  if (it == tokens_.end() || it->second.expires <= std::chrono::steady_clock::now())
    it = tokens_.insert_or_assign(key, FetchToken(scopes, false)).first;
  return "Bearer " + it->second.token;
}

void Authorizer::Forget(const std::vector<std::string>& scopes) {
  std::lock_guard lock(mutex_);
  tokens_.erase(ScopeKey(scopes));
}

std::string Authorizer::LoginToken() {
  std::lock_guard lock(mutex_);
  if (!challenge_ || challenge_->scheme != "bearer") return "";
  Token token = FetchToken({}, true);
  std::string refresh = token.refresh_token;
  tokens_.insert_or_assign(ScopeKey({}), std::move(token));
  return refresh;
}

Authorizer::Token Authorizer::FetchToken(const std::vector<std::string>& scopes, bool offline) {
  std::string realm = challenge_->params["realm"];
  if (realm.empty()) throw Error(registry_ + " asked for a bearer token but named no realm to get it from");
  std::string realm_host = UrlHost(realm);
  bool sending_credentials = credentials_.has_value();
  if (sending_credentials && realm.starts_with("http:") && !IsLoopbackHost(realm_host) &&
      !hosts_.IsInsecure(realm_host))
    throw Error("refusing to send the credentials for " + registry_ + " over plain HTTP to its token server " +
                WithoutQuery(realm) + "; name " + realm_host + " with --insecure-registry to allow it");

  auto started = std::chrono::steady_clock::now();
  HttpResponse response;
  if (credentials_ && !credentials_->identity_token.empty()) {
    response = PostForToken(realm, scopes, offline);
  } else if (credentials_) {
    response = PostForToken(realm, scopes, offline);
    // Token servers without OAuth2 (GCR answered 404, Artifactory 401).
    if (response.status == 404 || response.status == 405 || response.status == 401)
      response = GetToken(realm, scopes, offline);
  } else {
    response = GetToken(realm, scopes, offline);
  }
  std::string scope_text = scopes.empty() ? "" : " for " + ScopeKey(scopes);
  std::string action = "authenticate to " + registry_ + scope_text;
  if (!response.ok())
    throw MakeRegistryError(action, registry_, "", response, sending_credentials,
                            "its token server " + WithoutQuery(realm));

  nlohmann::json answer = nlohmann::json::parse(response.body, nullptr, false);
  Token token;
  if (answer.is_object()) {
    for (const char* field : {"token", "access_token"}) {
      if (auto it = answer.find(field); it != answer.end() && it->is_string() && !it->get<std::string>().empty()) {
        token.token = it->get<std::string>();
        break;
      }
    }
    if (auto it = answer.find("refresh_token"); it != answer.end() && it->is_string())
      token.refresh_token = it->get<std::string>();
  }
  if (token.token.empty())
    throw Error(action + ": the token server " + WithoutQuery(realm) + " answered without a token");
  int64_t lifetime = kMinTokenLifetimeSeconds;
  if (auto it = answer.find("expires_in"); it != answer.end() && it->is_number_integer())
    lifetime = std::max(lifetime, it->get<int64_t>());
  token.expires = started + std::chrono::seconds(lifetime) - kTokenExpiryMargin;
  return token;
}

HttpResponse Authorizer::PostForToken(const std::string& realm, const std::vector<std::string>& scopes, bool offline) {
  const Challenge& c = *challenge_;
  std::string form;
  auto add = [&form](std::string_view name, std::string_view value) {
    form += (form.empty() ? "" : "&") + std::string(name) + "=" + UrlEscape(value);
  };
  if (!credentials_->identity_token.empty()) {
    add("grant_type", "refresh_token");
    add("refresh_token", credentials_->identity_token);
  } else {
    add("grant_type", "password");
    add("username", credentials_->username);
    add("password", credentials_->password);
  }
  if (auto it = c.params.find("service"); it != c.params.end()) add("service", it->second);
  if (!scopes.empty()) add("scope", ScopeKey(scopes));
  add("client_id", kClientId);
  if (offline) add("access_type", "offline");
  HttpRequest request;
  request.method = "POST";
  request.url = realm;
  request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  request.body = HttpBody::FromString(std::move(form));
  request.tls = hosts_.For(UrlHost(realm)).tls;
  return http_.Send(request);
}

HttpResponse Authorizer::GetToken(const std::string& realm, const std::vector<std::string>& scopes, bool offline) {
  const Challenge& c = *challenge_;
  std::string url = realm;
  char separator = realm.find('?') == std::string::npos ? '?' : '&';
  auto add = [&](std::string_view name, std::string_view value) {
    url += separator + std::string(name) + "=" + UrlEscape(value);
    separator = '&';
  };
  if (auto it = c.params.find("service"); it != c.params.end()) add("service", it->second);
  std::vector<std::string> sorted = scopes;
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& s : sorted) add("scope", s);
  HttpRequest request;
  request.tls = hosts_.For(UrlHost(realm)).tls;
  if (credentials_ && !credentials_->username.empty()) {
    add("account", credentials_->username);
    request.headers.push_back("Authorization: Basic " + EncodeAuth(credentials_->username, credentials_->password));
  }
  if (offline) {
    add("offline_token", "true");
    add("client_id", kClientId);
  }
  request.url = std::move(url);
  return http_.Send(request);
}

}  // namespace bld::registry
