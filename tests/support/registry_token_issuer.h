// A token server for a test registry configured with `auth.token`: it checks
// credentials and hands out RS256 JWTs the registry verifies against the
// issuer's certificate, as Docker Hub's auth.docker.io does for Hub.
//
// It speaks both ways clients ask (the distribution token spec): GET with
// Basic credentials (?service=&scope=&account=), and the OAuth2 POST form
// (grant_type=password or refresh_token). An OAuth2 login asking for offline
// access (access_type=offline) gets a refresh token; GET never hands one
// out, as servers without OAuth2 have no use for one. An
// authenticated client gets every action it asks for; an anonymous one gets
// none. Wrong credentials get 401 {"details": "incorrect username or
// password"}, Docker Hub's answer.
//
// One thread serves the requests one at a time, each on its own connection.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "support/registry_net.h"
#include "support/registry_tls.h"

namespace bld::testing {

class TokenIssuer {
 public:
  struct Options {
    std::string username;
    std::string password;
    std::string service = "bld-test-registry";
    std::string issuer = "bld-test-issuer";
    // Tokens live this long (expires_in).
    int lifetime_seconds = 300;
    // False: POST answers 404, as token servers without OAuth2 do.
    bool accept_post = true;
  };

  explicit TokenIssuer(Options options);
  ~TokenIssuer();
  TokenIssuer(const TokenIssuer&) = delete;
  TokenIssuer& operator=(const TokenIssuer&) = delete;

  std::string realm() const { return "http://127.0.0.1:" + std::to_string(port_) + "/token"; }
  const Options& options() const { return options_; }
  const SigningKey& key() const { return key_; }

  // Requests answered, by kind.
  int gets() const { return gets_; }
  int posts() const { return posts_; }
  int refused() const { return refused_; }

 private:
  void Serve();
  void Handle(Socket client);
  std::string Answer(const std::string& user, const std::string& scopes_space_separated, bool offline);

  Options options_;
  SigningKey key_;
  Listener listener_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> gets_{0};
  std::atomic<int> posts_{0};
  std::atomic<int> refused_{0};
  std::mutex mutex_;
  std::set<std::string> refresh_tokens_;
  std::thread thread_;
};

}  // namespace bld::testing
