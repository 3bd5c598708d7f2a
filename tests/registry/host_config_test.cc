// Which transport each registry host gets: HTTPS verified, certs.d, insecure
// registries and loopback.
#include "registry/host_config.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "store/error.h"
#include "support/process.h"

using bld::registry::IsLoopbackHost;
using bld::registry::RegistryHosts;
using bld::testing::TempDir;
using bld::testing::WriteFile;

namespace {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("a remote registry gets verified HTTPS only") {
  RegistryHosts hosts({{}, {}});
  auto c = hosts.For("registry.example.com");
  CHECK_FALSE(c.allow_http);
  CHECK(c.tls.verify);
}

TEST_CASE("a loopback registry may answer in plain HTTP but is still verified over TLS") {
  RegistryHosts hosts({{}, {}});
  for (const char* host : {"localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"}) {
    auto c = hosts.For(host);
    CHECK(c.allow_http);
    CHECK(c.tls.verify);
  }
  CHECK(IsLoopbackHost("LOCALHOST"));
  CHECK_FALSE(IsLoopbackHost("128.0.0.1:5000"));
  CHECK_FALSE(IsLoopbackHost("localhost.example.com"));
}

TEST_CASE("insecure registries match by host:port, by host, or by network") {
  RegistryHosts hosts({{"reg.example.com:5000", "http://plain.example.com/", "10.1.0.0/16", "fd00::/8"}, {}});
  CHECK(hosts.IsInsecure("reg.example.com:5000"));
  CHECK_FALSE(hosts.IsInsecure("reg.example.com:5001"));
  CHECK(hosts.IsInsecure("plain.example.com:8080"));
  CHECK(hosts.IsInsecure("10.1.200.3:5000"));
  CHECK_FALSE(hosts.IsInsecure("10.2.0.1:5000"));
  CHECK(hosts.IsInsecure("[fd12::1]:5000"));
  auto c = hosts.For("reg.example.com:5000");
  CHECK(c.allow_http);
  CHECK_FALSE(c.tls.verify);
}

TEST_CASE("certs.d gives a host its CAs and client certificate, from every base directory") {
  TempDir bld_dir, docker_dir;
  WriteFile(bld_dir / "reg.example.com:5000/ca.crt", "x");
  WriteFile(docker_dir / "reg.example.com:5000/extra.crt", "x");
  WriteFile(docker_dir / "reg.example.com:5000/client.cert", "x");
  WriteFile(docker_dir / "reg.example.com:5000/client.key", "x");
  RegistryHosts hosts({{}, {bld_dir.path(), docker_dir.path()}});
  auto c = hosts.For("reg.example.com:5000");
  CHECK(c.tls.ca_files ==
        std::vector<std::string>{bld_dir / "reg.example.com:5000/ca.crt", docker_dir / "reg.example.com:5000/extra.crt"});
  CHECK(c.tls.client_cert == docker_dir / "reg.example.com:5000/client.cert");
  CHECK(c.tls.client_key == docker_dir / "reg.example.com:5000/client.key");
  CHECK(hosts.For("other.example.com").tls.ca_files.empty());
}

TEST_CASE("a client certificate without its key is refused") {
  TempDir dir;
  WriteFile(dir / "reg.example.com/client.cert", "x");
  RegistryHosts hosts({{}, {dir.path()}});
  CHECK_THROWS_WITH(hosts.For("reg.example.com"), Catch::Contains("missing key") && Catch::Contains("client.key"));
}

TEST_CASE("the bld config file and BLD_CERTS_D configure the environment's hosts") {
  TempDir dir;
  WriteFile(dir / "config.json", R"({"insecure-registries": ["a.example.com:5000"], "other": 1})");
  ScopedEnv config("BLD_CONFIG", dir / "config.json");
  ScopedEnv certs("BLD_CERTS_D", dir / "one:" + dir / "two");
  auto options = RegistryHosts::FromEnvironment({"b.example.com"});
  CHECK(options.insecure_registries == std::vector<std::string>{"a.example.com:5000", "b.example.com"});
  CHECK(options.certs_dirs == std::vector<std::string>{dir / "one", dir / "two"});
}

TEST_CASE("a malformed bld config file is an error that names it") {
  TempDir dir;
  WriteFile(dir / "config.json", R"({"insecure-registries": "a.example.com"})");
  ScopedEnv config("BLD_CONFIG", dir / "config.json");
  CHECK_THROWS_WITH(RegistryHosts::FromEnvironment(), Catch::Contains(dir / "config.json") &&
                                                          Catch::Contains("insecure-registries"));
}
