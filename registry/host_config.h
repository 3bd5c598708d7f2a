// Which transport each registry host gets: HTTPS verified against the system
// CAs plus the host's own (Docker's certs.d layout), with plain HTTP allowed
// only where the user or the network makes it safe enough.
//
// The rules, as docker's (differences noted):
//  - A registry is reached over HTTPS, verified. CAs and a client certificate
//    come from `<certs.d>/<host[:port]>/`: every `*.crt` is a CA, every
//    `X.cert` a client certificate whose key is `X.key`. The certs.d bases
//    are /etc/bld/certs.d then /etc/docker/certs.d, or the colon-separated
//    list in $BLD_CERTS_D.
//  - A registry named insecure (`--insecure-registry`, or the
//    "insecure-registries" list of the bld config file, $BLD_CONFIG or
//    /etc/bld/config.json) is tried over HTTPS without verification, then
//    over plain HTTP. Entries are "host[:port]" ("host" alone matches every
//    port) or an IP network in CIDR form, matched against literal IP hosts
//    (docker also resolves names; bld does not, to keep lookups off the
//    critical path).
//  - A loopback registry (localhost, 127.0.0.0/8, ::1) may answer in plain
//    HTTP, as docker allows. Unlike docker, one that does speak TLS is still
//    verified: a certificate on 127.0.0.1 is there for a reason, and its CA
//    belongs in certs.d.
//
// Thread safety: RegistryHosts is immutable after construction; For may be
// called from any number of threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "registry/http_client.h"

namespace bld::registry {

struct HostConfig {
  std::string host;  // "registry.example.com:5000"
  // HTTPS is always tried first; this allows falling back to plain HTTP.
  bool allow_http = false;
  TlsSettings tls;
};

class RegistryHosts {
 public:
  static constexpr std::string_view kConfigEnvVar = "BLD_CONFIG";
  static constexpr std::string_view kDefaultConfigPath = "/etc/bld/config.json";
  static constexpr std::string_view kCertsDirsEnvVar = "BLD_CERTS_D";

  struct Options {
    std::vector<std::string> insecure_registries;
    std::vector<std::string> certs_dirs;
  };

  // The config file's insecure registries plus `extra_insecure` (the
  // command line's), and the certs.d bases from the environment. A missing
  // config file is no error; a malformed one is.
  static Options FromEnvironment(const std::vector<std::string>& extra_insecure = {});

  explicit RegistryHosts(Options options);

  // Throws if the host's certs.d directory is inconsistent (a client
  // certificate without its key, or the reverse).
  HostConfig For(std::string_view host) const;
  bool IsInsecure(std::string_view host) const;

 private:
  Options options_;
};

}  // namespace bld::registry
