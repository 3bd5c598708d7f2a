#include "registry/credentials.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "store/error.h"
#include "store/exit_codes.h"

extern char** environ;

namespace bld::registry {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr std::array<std::string_view, 3> kDockerHubHosts = {"docker.io", "index.docker.io", "registry-1.docker.io"};
// The helper's answer is one small JSON object; its error, one line.
constexpr size_t kMaxHelperOutput = 1 << 20;
// The helper's input goes into the pipe before the helper starts (so that a
// helper that exits without reading cannot raise SIGPIPE): it must fit in
// the pipe buffer, 64 KiB on Linux. Credentials are far smaller.
constexpr size_t kMaxHelperInput = 16 * 1024;
// Credentials files hold a few entries; this is far beyond any real one.
constexpr size_t kMaxConfigFileSize = 16 << 20;
// What every docker-credential-* helper prints when it has nothing stored.
constexpr std::string_view kHelperNotFound = "credentials not found in native keychain";
// The helper protocol's marker for an identity token in place of a user.
constexpr std::string_view kTokenUsername = "<token>";
constexpr mode_t kConfigDirMode = 0700;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

class SpawnActions {
 public:
  SpawnActions() { posix_spawn_file_actions_init(&actions_); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

struct HelperResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

HelperResult RunHelper(const std::string& helper, const std::string& action, const std::string& input) {
  std::string program = "docker-credential-" + helper;
  if (input.size() > kMaxHelperInput) throw Error("input for " + program + " is too large");
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) throw SysError("pipe for " + program);
  Fd in_read(in_pipe[0]), in_write(in_pipe[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw SysError("pipe for " + program);
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::write(in_write.get(), input.data(), input.size()) != static_cast<ssize_t>(input.size()))
    throw SysError("writing the input of " + program);
  in_write.Close();

  SpawnActions actions;
  posix_spawn_file_actions_adddup2(actions.get(), in_read.get(), 0);
  posix_spawn_file_actions_adddup2(actions.get(), out_write.get(), 1);
  posix_spawn_file_actions_adddup2(actions.get(), out_write.get(), 2);
  std::vector<char*> argv = {program.data(), const_cast<char*>(action.c_str()), nullptr};
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, program.c_str(), actions.get(), nullptr, argv.data(), environ);
  if (rc != 0) {
    std::string why = rc == ENOENT ? "it is not installed (not found in PATH)" : std::strerror(rc);
    throw Error("cannot run the credential helper " + program + ": " + why);
  }
  in_read.Close();
  out_write.Close();
  HelperResult result;
  std::array<char, 4096> buf;
  for (;;) {
    ssize_t n = ::read(out_read.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (result.output.size() < kMaxHelperOutput) result.output.append(buf.data(), static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = exit_code::FromWaitStatus(status);
  return result;
}

std::string TrimOutput(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

bool IsDockerHub(std::string_view host) {
  for (std::string_view h : kDockerHubHosts)
    if (host == h) return true;
  return false;
}

ordered_json ReadConfig(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return ordered_json::object();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SysError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxConfigFileSize) throw Error("cannot read " + path + ": too large for a docker config");
  if (text.str().find_first_not_of(" \t\r\n") == std::string::npos) return ordered_json::object();
  ordered_json config = ordered_json::parse(text.str(), nullptr, false);
  if (config.is_discarded() || !config.is_object()) throw Error("cannot parse " + path + ": not a JSON object");
  return config;
}

void WriteConfig(const std::string& dir, const std::string& path, const ordered_json& config) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(fs::path(dir).parent_path(), ec);
    if (::mkdir(dir.c_str(), kConfigDirMode) != 0 && errno != EEXIST) throw SysError("cannot create " + dir);
  }
  // A config.json that is a symlink (dotfile managers) is updated in place.
  std::string target = path;
  if (fs::is_symlink(path, ec)) {
    target = fs::canonical(path, ec).string();
    if (ec) throw Error("cannot resolve " + path + ": " + ec.message());
  }
  std::string tmp = target + ".tmp-XXXXXX";
  // mkstemp creates the file with mode 0600.
  Fd fd(::mkstemp(tmp.data()));
  if (fd.get() < 0) throw SysError("cannot create a temporary file beside " + target);
  std::string text = config.dump(1, '\t') + "\n";
  bool ok = ::fchmod(fd.get(), 0600) == 0 && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd.get()) == 0;
  int err = errno;
  fd.Close();
  if (!ok || ::rename(tmp.c_str(), target.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    throw SysError("cannot write " + target, err);
  }
}

// The helper configured for `key`, if any: credHelpers by host, then credsStore.
std::string HelperFor(const ordered_json& config, const std::string& key, const std::string& path) {
  std::string host = ConvertToHostname(key);
  if (auto helpers = config.find("credHelpers"); helpers != config.end() && helpers->is_object()) {
    if (auto it = helpers->find(host); it != helpers->end()) {
      if (!it->is_string()) throw Error("cannot parse " + path + ": credHelpers[\"" + host + "\"] is not a string");
      return it->get<std::string>();
    }
  }
  if (auto store = config.find("credsStore"); store != config.end()) {
    if (!store->is_string()) throw Error("cannot parse " + path + ": credsStore is not a string");
    return store->get<std::string>();
  }
  return "";
}

std::string StringField(const ordered_json& entry, const char* name) {
  auto it = entry.find(name);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : "";
}

// The auths keys that mean `key`: itself, or any key whose host is the same.
std::vector<std::string> MatchingAuthKeys(const ordered_json& auths, const std::string& key) {
  std::vector<std::string> keys;
  std::string host = ConvertToHostname(key);
  for (const auto& [k, v] : auths.items())
    if (k == key || CredentialKey(k) == key || ConvertToHostname(k) == host) keys.push_back(k);
  return keys;
}

}  // namespace

std::string ConvertToHostname(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.starts_with(scheme)) {
      url.remove_prefix(scheme.size());
      break;
    }
  }
  return std::string(url.substr(0, url.find('/')));
}

std::string CredentialKey(std::string_view registry) {
  std::string host = ConvertToHostname(registry);
  return IsDockerHub(host) ? std::string(kDockerHubCredentialKey) : host;
}

std::string EncodeAuth(std::string_view username, std::string_view password) {
  std::string plain = std::string(username) + ":" + std::string(password);
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::pair<std::string, std::string> DecodeAuth(std::string_view auth) {
  std::string out(3 * (auth.size() / 4) + 3, '\0');
  int n = auth.size() % 4 == 0 ? EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                 reinterpret_cast<const unsigned char*>(auth.data()),
                                                 static_cast<int>(auth.size()))
                               : -1;
  if (n < 0) throw Error("invalid auth configuration: \"auth\" is not base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t length = static_cast<size_t>(n);
  for (size_t i = auth.size(); i > 0 && auth[i - 1] == '=' && length > 0; --i) --length;
  out.resize(length);
  size_t colon = out.find(':');
  if (colon == std::string::npos) throw Error("invalid auth configuration: \"auth\" is not base64 of user:password");
  return {out.substr(0, colon), out.substr(colon + 1)};
}

std::string DockerConfig::DefaultDir() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) return dir;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.docker";
}

DockerConfig::DockerConfig(std::string dir) : dir_(std::move(dir)) {}

std::optional<Credentials> DockerConfig::Get(std::string_view registry) const {
  std::string key = CredentialKey(registry);
  ordered_json config = ReadConfig(path());
  if (std::string helper = HelperFor(config, key, path()); !helper.empty()) {
    HelperResult r = RunHelper(helper, "get", key);
    if (r.exit_code != 0) {
      if (r.output.find(kHelperNotFound) != std::string::npos) return std::nullopt;
      throw Error("credential helper docker-credential-" + helper + " failed to get the credentials for " + key + ": " +
                  TrimOutput(r.output));
    }
    ordered_json answer = ordered_json::parse(r.output, nullptr, false);
    if (answer.is_discarded() || !answer.is_object())
      throw Error("credential helper docker-credential-" + helper + " answered something that is not JSON for " + key);
    Credentials c;
    std::string username = StringField(answer, "Username");
    std::string secret = StringField(answer, "Secret");
    if (username == kTokenUsername) {
      c.identity_token = secret;
    } else {
      c.username = username;
      c.password = secret;
    }
    if (c.empty()) return std::nullopt;
    return c;
  }
  auto auths = config.find("auths");
  if (auths == config.end() || !auths->is_object()) return std::nullopt;
  std::vector<std::string> keys = MatchingAuthKeys(*auths, key);
  // The exact key wins over one that merely names the same host.
  auto exact = std::find(keys.begin(), keys.end(), key);
  if (exact != keys.end()) std::iter_swap(keys.begin(), exact);
  for (const std::string& k : keys) {
    const ordered_json& entry = (*auths)[k];
    if (!entry.is_object()) continue;
    Credentials c;
    if (std::string auth = StringField(entry, "auth"); !auth.empty()) {
      try {
        std::tie(c.username, c.password) = DecodeAuth(auth);
      } catch (const Error& e) {
        throw Error("cannot use the credentials for " + k + " in " + path() + ": " + e.what());
      }
    } else {
      c.username = StringField(entry, "username");
      c.password = StringField(entry, "password");
    }
    c.identity_token = StringField(entry, "identitytoken");
    if (!c.empty()) return c;
  }
  return std::nullopt;
}

DockerConfig::Location DockerConfig::Store(std::string_view registry, const Credentials& credentials) const {
  std::string key = CredentialKey(registry);
  ordered_json config = ReadConfig(path());
  if (!config.contains("auths") || !config["auths"].is_object()) config["auths"] = ordered_json::object();
  std::string helper = HelperFor(config, key, path());
  if (!helper.empty()) {
    ordered_json input = {{"ServerURL", key},
                          {"Username", credentials.identity_token.empty() ? credentials.username : kTokenUsername},
                          {"Secret", credentials.identity_token.empty() ? credentials.password : credentials.identity_token}};
    HelperResult r = RunHelper(helper, "store", input.dump());
    if (r.exit_code != 0)
      throw Error("credential helper docker-credential-" + helper + " failed to store the credentials for " + key + ": " +
                  TrimOutput(r.output));
    // As docker does: an empty entry in the file lists the registry.
    config["auths"][key] = ordered_json::object();
    WriteConfig(dir_, path(), config);
    return Location::kHelper;
  }
  ordered_json entry = ordered_json::object();
  entry["auth"] = EncodeAuth(credentials.username, credentials.password);
  if (!credentials.identity_token.empty()) entry["identitytoken"] = credentials.identity_token;
  config["auths"][key] = entry;
  WriteConfig(dir_, path(), config);
  return Location::kFile;
}

bool DockerConfig::Erase(std::string_view registry) const {
  std::string key = CredentialKey(registry);
  ordered_json config = ReadConfig(path());
  bool erased = false;
  if (std::string helper = HelperFor(config, key, path()); !helper.empty()) {
    HelperResult r = RunHelper(helper, "erase", key);
    if (r.exit_code == 0) {
      erased = true;
    } else if (r.output.find(kHelperNotFound) == std::string::npos) {
      throw Error("credential helper docker-credential-" + helper + " failed to erase the credentials for " + key + ": " +
                  TrimOutput(r.output));
    }
  }
  auto auths = config.find("auths");
  if (auths != config.end() && auths->is_object()) {
    std::vector<std::string> keys = MatchingAuthKeys(*auths, key);
    for (const std::string& k : keys) auths->erase(k);
    if (!keys.empty()) {
      WriteConfig(dir_, path(), config);
      erased = true;
    }
  }
  return erased;
}

}  // namespace bld::registry
