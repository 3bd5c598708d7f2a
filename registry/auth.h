// Registry authentication: what a registry's WWW-Authenticate challenge asks
// for, and the Authorization header that answers it.
//
// Two schemes, as docker and containerd speak them:
//  - Basic: the stored user and password on every request.
//  - Bearer (the distribution token spec): a token from the challenge's
//    realm, for the challenge's service and the scopes a request needs
//    ("repository:app:pull,push", plus "repository:base:pull" for a blob
//    mounted from another repository). With a password the token is asked
//    for by an OAuth2 POST (grant_type=password), falling back to a GET with
//    Basic credentials for servers without OAuth2 (404, 405, or 401 as
//    Artifactory answers); with an identity token, by a POST with
//    grant_type=refresh_token; anonymously, by a GET. Tokens are cached per
//    scope set until they expire (expires_in, at least the spec's 60 s).
// Credentials never go to a token server over plain HTTP, unless that server
// is on loopback or named insecure.
//
// Thread safety: all methods may be called from any number of threads. A
// token fetch holds the authorizer's lock, so that threads needing the same
// token wait for one fetch instead of each making their own.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/credentials.h"
#include "registry/host_config.h"
#include "registry/http_client.h"

namespace bld::registry {

struct Challenge {
  std::string scheme;                         // lower case: "basic", "bearer"
  std::map<std::string, std::string> params;  // names in lower case
};

// Every challenge of the WWW-Authenticate headers (RFC 7235: a header may
// hold several, parameters may be quoted strings with escapes). Malformed
// parts are skipped.
std::vector<Challenge> ParseChallenges(const std::vector<std::string>& headers);

// "repository:<name>:<actions>", actions like "pull" or "pull,push".
std::string RepositoryScope(std::string_view repository, std::string_view actions);

class Authorizer {
 public:
  // `registry` names the registry in messages and login hints.
  Authorizer(HttpClient& http, const RegistryHosts& hosts, std::string registry,
             std::optional<Credentials> credentials);

  // Takes the challenges of a /v2/ ping or a 401 answer; Bearer is preferred
  // over Basic when both are offered.
  void SetChallenges(const std::vector<Challenge>& challenges);
  bool has_credentials() const { return credentials_.has_value(); }

  // The Authorization header value for a request needing `scopes`, or empty
  // when the registry asked for none or there is nothing to send. May fetch a
  // token; throws RegistryError when the token server refuses.
  std::string Authorization(const std::vector<std::string>& scopes);
  // Drops the cached token for `scopes` (the registry refused it).
  void Forget(const std::vector<std::string>& scopes);

  // For `bld login`: a token fetched with the credentials and offline
  // access, which proves them. Returns the refresh token the server gave
  // (to be stored instead of the password), or empty. Does nothing and
  // returns empty when the registry uses Basic.
  std::string LoginToken();
  bool uses_bearer() const;

 private:
  struct Token {
    std::string token;
    std::string refresh_token;
    std::chrono::steady_clock::time_point expires;
  };

  Token FetchToken(const std::vector<std::string>& scopes, bool offline);
  HttpResponse PostForToken(const std::string& realm, const std::vector<std::string>& scopes, bool offline);
  HttpResponse GetToken(const std::string& realm, const std::vector<std::string>& scopes, bool offline);

  HttpClient& http_;
  const RegistryHosts& hosts_;
  std::string registry_;
  std::optional<Credentials> credentials_;

  mutable std::mutex mutex_;
  std::optional<Challenge> challenge_;
  std::map<std::string, Token> tokens_;  // by sorted, space-joined scopes
};

}  // namespace bld::registry
