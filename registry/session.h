// One registry as one pull, push or login talks to it: the endpoint found by
// pinging /v2/ (HTTPS, or plain HTTP where host_config.h allows it), the
// challenge it answered with, and requests sent with the Authorization their
// scopes need, sent once more after a 401 that a fresh token may fix (an
// expired token, or a registry asking for more scope than was requested).
//
// Thread safety: all methods may be called from any number of threads; the
// ping happens once, whichever thread needs it first.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/auth.h"
#include "registry/credentials.h"
#include "registry/host_config.h"
#include "registry/http_client.h"
#include "registry/registry_error.h"

namespace bld::registry {

// What pulls, pushes and logins need beyond the image reference.
struct RegistryOptions {
  // From --insecure-registry; added to the bld config file's list.
  std::vector<std::string> insecure_registries;
  // The directory of docker's config.json; empty: DockerConfig::DefaultDir().
  std::string docker_config_dir;
  HttpClient::Options http;
  // Replaces RegistryHosts::FromEnvironment when set.
  std::optional<RegistryHosts::Options> hosts;
};

// The host API requests go to for a registry as references name it:
// Docker Hub's names mean registry-1.docker.io, as in docker.
std::string RegistryApiHost(std::string_view registry);

class Session {
 public:
  // Uses the credentials stored in docker's config for `registry`.
  Session(const RegistryOptions& options, std::string registry);
  // Uses `credentials` (none: anonymous) instead.
  Session(const RegistryOptions& options, std::string registry, std::optional<Credentials> credentials);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The registry as the user names it ("docker.io", "127.0.0.1:5000").
  const std::string& registry() const { return registry_; }
  // Where requests go ("registry-1.docker.io", "127.0.0.1:5000").
  const std::string& host() const { return host_; }
  HttpClient& http() { return http_; }
  Authorizer& authorizer() { return authorizer_; }
  const HostConfig& host_config() const { return host_config_; }

  // "https://host" or "http://host", pinging the registry on first use.
  // Throws when it cannot be reached or is not a registry.
  std::string BaseUrl();
  // BaseUrl() + path, e.g. Url("/v2/app/manifests/v1").
  std::string Url(std::string_view path) { return BaseUrl() + std::string(path); }

  // Sends `request` with the TLS settings of the registry and the
  // Authorization `scopes` need. Returns the answer whatever its status.
  HttpResponse Send(HttpRequest request, const std::vector<std::string>& scopes);

  // The error for an unexpected answer to `action` on `repository`.
  RegistryError Fail(std::string_view action, std::string_view repository, const HttpResponse& response) const;

 private:
  void Ping();

  std::string registry_;
  std::string host_;
  HttpClient http_;
  RegistryHosts hosts_;
  HostConfig host_config_;
  Authorizer authorizer_;
  std::mutex ping_mutex_;
  std::string base_url_;  // set once the ping succeeded
};

}  // namespace bld::registry
