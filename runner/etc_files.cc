#include "runner/etc_files.h"

#include <arpa/inet.h>

#include <sstream>

#include "runner/system_call.h"

namespace bld::runner {

namespace {

constexpr const char* kHostResolvConf = "/etc/resolv.conf";
// Where systemd-resolved lists the upstream servers behind its 127.0.0.53
// stub.
constexpr const char* kResolvedUpstreamConf = "/run/systemd/resolve/resolv.conf";
constexpr std::string_view kResolvedStub = "127.0.0.53";
// Docker's fallback when a container's network cannot reach any of the
// host's nameservers.
constexpr std::string_view kDefaultNameservers = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
// resolv.conf is a few lines; anything this large is not one.
constexpr size_t kMaxResolvConfSize = 64 * 1024;
constexpr mode_t kEtcFileMode = 0644;

// The address of a "nameserver <address>" line, or "" for other lines.
std::string NameserverOf(const std::string& line) {
  std::istringstream words(line);
  std::string keyword, address;
  words >> keyword >> address;
  return keyword == "nameserver" ? address : "";
}

bool IsLoopback(const std::string& address) {
  in_addr v4;
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == IN_LOOPBACKNET;
  in6_addr v6;
  return ::inet_pton(AF_INET6, address.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

std::string HostsFileContent(std::string_view hostname) {
  return "127.0.0.1\tlocalhost " + std::string(hostname) + "\n::1\tlocalhost ip6-localhost ip6-loopback\n";
}

std::string ResolvConfContent(std::string_view host_resolv_conf, bool host_network) {
  if (host_network) return std::string(host_resolv_conf);
  std::string out;
  bool has_nameserver = false;
  std::istringstream lines{std::string(host_resolv_conf)};
  for (std::string line; std::getline(lines, line);) {
    std::string address = NameserverOf(line);
    if (!address.empty()) {
      if (IsLoopback(address)) continue;
      has_nameserver = true;
    }
    out += line + "\n";
  }
  if (!has_nameserver) out += kDefaultNameservers;
  return out;
}

void WriteEtcFiles(const std::string& dir, std::string_view hostname, bool host_network) {
  WriteFileWithMode(dir + "/hosts", HostsFileContent(hostname), kEtcFileMode);
  WriteFileWithMode(dir + "/hostname", std::string(hostname) + "\n", kEtcFileMode);

  std::string host_conf;
  ReadRegularFile(kHostResolvConf, kMaxResolvConfSize, host_conf);
  if (!host_network && host_conf.find(kResolvedStub) != std::string::npos) {
    std::string upstream;
    if (ReadRegularFile(kResolvedUpstreamConf, kMaxResolvConfSize, upstream)) host_conf = std::move(upstream);
  }
  WriteFileWithMode(dir + "/resolv.conf", ResolvConfContent(host_conf, host_network), kEtcFileMode);
}

}  // namespace bld::runner
