// Registry credentials, kept where docker keeps them so that `docker login`
// and `bld login` share one file: $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json.
//
// The file's rules, as the docker CLI applies them:
//  - "credHelpers": {"<host>": "<name>"} sends that host to the program
//    docker-credential-<name>; else "credsStore": "<name>" sends every host
//    there; else "auths": {"<key>": {"auth": base64("user:password"),
//    "identitytoken": "..."}} holds them in the file.
//  - The helper protocol: `docker-credential-<name> get|store|erase`, the
//    server URL (get, erase) or {"ServerURL","Username","Secret"} (store) on
//    stdin, JSON on stdout. A Username of "<token>" means Secret is an
//    identity token.
//  - Docker Hub is stored under the key "https://index.docker.io/v1/", which
//    its names docker.io, index.docker.io and registry-1.docker.io all map
//    to; other registries under "host[:port]", and a key written as a URL
//    ("https://host/v2/") still matches its host.
//  - Writing keeps every other key of the file as it was, and replaces the
//    file atomically with mode 0600, since it may hold passwords.
//
// Thread safety: a DockerConfig holds only its path; reads see the file as it
// is at the time of the call. Two processes writing at once may lose one of
// the writes (docker has the same race).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bld::registry {

struct Credentials {
  std::string username;
  std::string password;
  // A refresh token from a token server, used instead of the password.
  std::string identity_token;

  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

inline constexpr std::string_view kDockerHubCredentialKey = "https://index.docker.io/v1/";

// Docker's ConvertToHostname: "https://host:5000/v2/" -> "host:5000".
std::string ConvertToHostname(std::string_view url);
// The key a registry's credentials are stored under (see above). `registry`
// is a host ("127.0.0.1:5000", "docker.io") or a URL.
std::string CredentialKey(std::string_view registry);

// base64 of "user:password", the "auth" field and the Basic scheme's value.
std::string EncodeAuth(std::string_view username, std::string_view password);
// The reverse; throws bld::Error on malformed input.
std::pair<std::string, std::string> DecodeAuth(std::string_view auth);

class DockerConfig {
 public:
  // $DOCKER_CONFIG, else $HOME/.docker.
  static std::string DefaultDir();

  // The directory holding config.json.
  explicit DockerConfig(std::string dir);
  std::string path() const { return dir_ + "/config.json"; }

  // The credentials stored for `registry`, from its helper or the file.
  // Throws if the file is malformed or a helper fails otherwise than by
  // having none.
  std::optional<Credentials> Get(std::string_view registry) const;

  enum class Location { kFile, kHelper };
  // Stores the credentials for `registry` and says where they went.
  Location Store(std::string_view registry, const Credentials& credentials) const;
  // Removes them; false if there were none. Keys written as URLs of the same
  // host are removed too, as docker logout does.
  bool Erase(std::string_view registry) const;

 private:
  std::string dir_;
};

}  // namespace bld::registry
