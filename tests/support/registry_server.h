// A real registry for tests: Debian's docker-registry (distribution 2.8),
// started on a free 127.0.0.1 port with a config the fixture writes, in one of
// four setups, and stopped (with its storage removed) on destruction.
//
//   kNone   plain HTTP, no authentication
//   kBasic  htpasswd with a bcrypt entry (htpasswd -Bbc, from apache2-utils;
//           distribution silently refuses MD5 entries)
//   kToken  token authentication against a TokenIssuer the fixture starts
//   tls     HTTPS with a certificate for 127.0.0.1 signed by a test CA, whose
//           certificate is put in a certs.d tree (certs_dir()/<host>/ca.crt)
//
// The packaged service is never used: it listens on every interface.
#pragma once

#include <memory>
#include <string>

#include "support/process.h"
#include "support/registry_token_issuer.h"

namespace bld::testing {

struct RegistryServerOptions {
  enum class Auth { kNone, kBasic, kToken };
  Auth auth = Auth::kNone;
  bool tls = false;
  // http.relativeurls: upload Locations as paths instead of absolute URLs.
  bool relative_urls = false;
  std::string username = "bld-user";
  std::string password = "s3cret-pass";
  // For kToken: whether the issuer takes OAuth2 POSTs.
  bool token_accepts_post = true;
};

class RegistryServer {
 public:
  explicit RegistryServer(RegistryServerOptions options = {});
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  const RegistryServerOptions& options() const { return options_; }
  // "127.0.0.1:<port>"
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  std::string url() const { return (options_.tls ? "https://" : "http://") + host_; }
  // The certs.d base directory holding <host>/ca.crt (TLS setups).
  std::string certs_dir() const { return dir_ / "certs.d"; }
  std::string ca_file() const { return dir_ / "ca.crt"; }
  // Where the registry keeps its content.
  std::string storage_dir() const { return dir_ / "storage"; }
  // The token issuer (kToken), else null.
  TokenIssuer* issuer() const { return issuer_.get(); }
  // The registry's log so far, for failure messages.
  std::string log() const;

 private:
  void Start();
  void Stop();

  RegistryServerOptions options_;
  TempDir dir_;
  std::unique_ptr<TokenIssuer> issuer_;
  int port_ = 0;
  std::string host_;
  int pid_ = -1;
};

}  // namespace bld::testing
