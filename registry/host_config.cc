#include "registry/host_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store/error.h"

namespace bld::registry {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 2> kDefaultCertsDirs = {"/etc/bld/certs.d", "/etc/docker/certs.d"};
// The bld config file is a handful of settings; anything bigger is not one.
constexpr size_t kMaxConfigFileSize = 1 << 20;

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "http://host:5000/" -> "host:5000", as docker cleans its insecure list.
std::string CleanEntry(std::string_view entry) {
  for (std::string_view scheme : {"http://", "https://"})
    if (entry.starts_with(scheme)) entry.remove_prefix(scheme.size());
  while (entry.ends_with('/')) entry.remove_suffix(1);
  return ToLower(entry);
}

// An address as bytes (4 or 16 of them), or empty when `text` is not one.
std::string IpBytes(const std::string& text) {
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, text.c_str(), buf.data()) == 1) return std::string(reinterpret_cast<char*>(buf.data()), 4);
  if (inet_pton(AF_INET6, text.c_str(), buf.data()) == 1) return std::string(reinterpret_cast<char*>(buf.data()), 16);
  return "";
}

bool CidrContains(std::string_view cidr, const std::string& ip) {
  size_t slash = cidr.find('/');
  std::string network = IpBytes(std::string(cidr.substr(0, slash)));
  int bits = -1;
  std::string_view len = cidr.substr(slash + 1);
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
  if (network.empty() || ec != std::errc() || end != len.data() + len.size() || network.size() != ip.size() || bits < 0 ||
      bits > static_cast<int>(8 * ip.size()))
    return false;
  for (int i = 0; i < bits; ++i) {
    int mask = 0x80 >> (i % 8);
    if ((network[i / 8] & mask) != (ip[i / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

RegistryHosts::Options RegistryHosts::FromEnvironment(const std::vector<std::string>& extra_insecure) {
  Options options;
  const char* config_env = std::getenv(std::string(kConfigEnvVar).c_str());
  std::string config_path = config_env && *config_env ? config_env : std::string(kDefaultConfigPath);
  std::ifstream in(config_path, std::ios::binary);
  if (in) {
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().size() > kMaxConfigFileSize) throw Error("bld config " + config_path + " is too large to be one");
    nlohmann::json config = nlohmann::json::parse(text.str(), nullptr, false);
    if (config.is_discarded() || !config.is_object()) throw Error("bld config " + config_path + " is not a JSON object");
    if (auto it = config.find("insecure-registries"); it != config.end()) {
      bool valid = it->is_array() && std::all_of(it->begin(), it->end(), [](const auto& e) { return e.is_string(); });
      if (!valid) throw Error("bld config " + config_path + ": \"insecure-registries\" must be a list of strings");
      for (const auto& e : *it) options.insecure_registries.push_back(e.template get<std::string>());
    }
  }
  options.insecure_registries.insert(options.insecure_registries.end(), extra_insecure.begin(), extra_insecure.end());

  const char* certs_env = std::getenv(std::string(kCertsDirsEnvVar).c_str());
  if (certs_env && *certs_env) {
    std::string_view rest = certs_env;
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) options.certs_dirs.emplace_back(dir);
      rest = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
    }
  } else {
    options.certs_dirs.assign(kDefaultCertsDirs.begin(), kDefaultCertsDirs.end());
  }
  return options;
}

RegistryHosts::RegistryHosts(Options options) : options_(std::move(options)) {}

bool RegistryHosts::IsInsecure(std::string_view host) const {
  std::string wanted = ToLower(host);
  auto [name, port] = SplitHostPort(wanted);
  std::string ip = IpBytes(name);
  for (const std::string& raw : options_.insecure_registries) {
    std::string entry = CleanEntry(raw);
    if (entry == wanted) return true;
    if (entry.find('/') != std::string::npos) {
      if (!ip.empty() && CidrContains(entry, ip)) return true;
      continue;
    }
    auto [entry_name, entry_port] = SplitHostPort(entry);
    if (entry_port.empty() && entry_name == name) return true;
  }
  return false;
}

HostConfig RegistryHosts::For(std::string_view host) const {
  HostConfig config;
  config.host = std::string(host);
  bool insecure = IsInsecure(host);
  config.allow_http = insecure || IsLoopbackHost(host);
  config.tls.verify = !insecure;
  for (const std::string& base : options_.certs_dirs) {
    fs::path dir = fs::path(base) / std::string(host);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> files;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) files.push_back(e.path());
    if (ec) throw Error("cannot list " + dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      std::string ext = f.extension().string();
      fs::path stem = f;
      if (ext == ".crt") {
        config.tls.ca_files.push_back(f.string());
      } else if (ext == ".cert") {
        fs::path key = stem.replace_extension(".key");
        if (!fs::exists(key, ec)) throw Error("missing key " + key.string() + " for client certificate " + f.string());
        if (config.tls.client_cert.empty()) {
          config.tls.client_cert = f.string();
          config.tls.client_key = key.string();
        }
      } else if (ext == ".key") {
        fs::path cert = stem.replace_extension(".cert");
        if (!fs::exists(cert, ec)) throw Error("missing client certificate " + cert.string() + " for key " + f.string());
      }
    }
  }
  return config;
}

}  // namespace bld::registry
