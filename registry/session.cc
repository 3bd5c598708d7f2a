#include "registry/session.h"

#include <algorithm>

namespace bld::registry {

namespace {

std::optional<Credentials> LoadCredentials(const RegistryOptions& options, const std::string& registry) {
  DockerConfig config(options.docker_config_dir.empty() ? DockerConfig::DefaultDir() : options.docker_config_dir);
  return config.Get(registry);
}

RegistryHosts::Options HostOptions(const RegistryOptions& options) {
  return options.hosts ? *options.hosts : RegistryHosts::FromEnvironment(options.insecure_registries);
}

// The scopes a Bearer challenge names ("scope" is space-separated).
std::vector<std::string> ChallengeScopes(const std::vector<Challenge>& challenges) {
  std::vector<std::string> scopes;
  for (const Challenge& c : challenges) {
    auto it = c.params.find("scope");
    if (c.scheme != "bearer" || it == c.params.end()) continue;
    std::string_view rest = it->second;
    while (!rest.empty()) {
      size_t space = rest.find(' ');
      if (space != 0) scopes.emplace_back(rest.substr(0, space));
      rest = space == std::string_view::npos ? "" : rest.substr(space + 1);
    }
  }
  return scopes;
}

}  // namespace

std::string RegistryApiHost(std::string_view registry) {
  if (registry == "docker.io" || registry == "index.docker.io") return "registry-1.docker.io";
  return std::string(registry);
}

Session::Session(const RegistryOptions& options, std::string registry)
    : Session(options, registry, LoadCredentials(options, registry)) {}

Session::Session(const RegistryOptions& options, std::string registry, std::optional<Credentials> credentials)
    : registry_(std::move(registry)),
      host_(RegistryApiHost(registry_)),
      http_(options.http),
      hosts_(HostOptions(options)),
      host_config_(hosts_.For(host_)),
      authorizer_(http_, hosts_, registry_, std::move(credentials)) {}

std::string Session::BaseUrl() {
  std::lock_guard lock(ping_mutex_);
  if (base_url_.empty()) Ping();
  return base_url_;
}

void Session::Ping() {
  std::vector<std::string> schemes = {"https"};
  if (host_config_.allow_http) schemes.push_back("http");
  for (size_t i = 0; i < schemes.size(); ++i) {
    std::string base = schemes[i] + "://" + host_;
    HttpRequest request;
    request.url = base + "/v2/";
    request.tls = host_config_.tls;
    HttpResponse response;
    try {
      response = http_.Send(request);
    } catch (const TransportError& e) {
      bool last = i + 1 == schemes.size();
      // A loopback registry falls back to HTTP only when it does not speak
      // TLS at all; one named insecure, on any failure, as docker does.
      bool fall_back = e.kind() == TransportError::Kind::kTlsHandshake ||
                       (!host_config_.tls.verify && e.kind() != TransportError::Kind::kCancelled);
      if (last || !fall_back) throw Error("cannot reach the registry " + registry_ + ": " + e.what());
      continue;
    }
    if (response.status == 200 || response.status == 401) {
      authorizer_.SetChallenges(ParseChallenges(response.HeaderValues("www-authenticate")));
      base_url_ = base;
      return;
    }
    if (response.status == 404)
      throw Error(registry_ + " is not a container registry: GET " + request.url + " answered 404 Not Found");
    throw Fail("ping " + request.url, "", response);
  }
}

HttpResponse Session::Send(HttpRequest request, const std::vector<std::string>& scopes) {
  BaseUrl();
  request.tls = host_config_.tls;
  size_t own_headers = request.headers.size();
  std::string authorization = authorizer_.Authorization(scopes);
  if (!authorization.empty()) request.headers.push_back("Authorization: " + authorization);
  HttpResponse response = http_.Send(request);
  if (response.status != 401) return response;

  std::vector<Challenge> challenges = ParseChallenges(response.HeaderValues("www-authenticate"));
  if (challenges.empty()) return response;
  std::vector<std::string> wanted = scopes;
  for (std::string& s : ChallengeScopes(challenges))
    if (std::find(wanted.begin(), wanted.end(), s) == wanted.end()) wanted.push_back(std::move(s));
  authorizer_.SetChallenges(challenges);
  authorizer_.Forget(scopes);
  std::string retry_authorization = authorizer_.Authorization(wanted);
  if (retry_authorization.empty() || retry_authorization == authorization) return response;
  request.headers.resize(own_headers);
  request.headers.push_back("Authorization: " + retry_authorization);
  return http_.Send(request);
}

RegistryError Session::Fail(std::string_view action, std::string_view repository, const HttpResponse& response) const {
  return MakeRegistryError(action, registry_, repository, response, authorizer_.has_credentials());
}

}  // namespace bld::registry
