// The files a container gets from the runner rather than from its image:
// /etc/hosts, /etc/hostname and /etc/resolv.conf.
//
// They are written into the container's directory and bind-mounted over the
// init layer's empty files, so the container reads and may even write them,
// and none of it ever reaches a layer (as with Docker).
//
// /etc/resolv.conf is the host's, as Docker makes it: with the host's network
// it is copied as it is; with a network namespace of its own, nameservers on
// the host's loopback (systemd-resolved's 127.0.0.53 stub, a local dnsmasq)
// are unreachable from inside, so systemd-resolved's real upstream list is
// used when the host has one, loopback nameservers are dropped, and Docker's
// defaults (8.8.8.8, 8.8.4.4) are used when none is left.
//
// Thread safety: the functions keep no state.
#pragma once

#include <string>
#include <string_view>

namespace bld::runner {

// "127.0.0.1 localhost <hostname>" and the IPv6 loopback names.
std::string HostsFileContent(std::string_view hostname);

// The container's resolv.conf, from the host's: see the header comment.
std::string ResolvConfContent(std::string_view host_resolv_conf, bool host_network);

// Writes <dir>/hosts, <dir>/hostname and <dir>/resolv.conf (mode 0644),
// reading the host's /etc/resolv.conf (or systemd-resolved's upstream file).
void WriteEtcFiles(const std::string& dir, std::string_view hostname, bool host_network);

}  // namespace bld::runner
