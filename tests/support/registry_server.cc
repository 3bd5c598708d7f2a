#include "support/registry_server.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "support/registry_net.h"
#include "support/registry_tls.h"

namespace bld::testing {

namespace {

// distribution starts in well under a second here; a loaded CI machine gets
// twenty times that.
constexpr std::chrono::seconds kStartTimeout{20};
constexpr std::chrono::milliseconds kPollInterval{100};
constexpr std::chrono::seconds kStopTimeout{5};
// The port picked may be taken by someone else before the registry binds it.
constexpr int kStartAttempts = 3;

}  // namespace

RegistryServer::RegistryServer(RegistryServerOptions options) : options_(std::move(options)) { Start(); }

RegistryServer::~RegistryServer() { Stop(); }

std::string RegistryServer::log() const {
  try {
    return ReadFile(dir_ / "registry.log");
  } catch (const std::exception&) {
    return "";
  }
}

void RegistryServer::Start() {
  std::string auth_config;
  if (options_.auth == RegistryServerOptions::Auth::kBasic) {
    ProcessResult r = RunProcess({"htpasswd", "-Bbc", dir_ / "htpasswd", options_.username, options_.password});
    if (r.exit_code != 0)
      throw std::runtime_error("htpasswd failed (is apache2-utils installed?): " + r.err);
    auth_config = "auth:\n  htpasswd:\n    realm: bld-test\n    path: " + (dir_ / "htpasswd") + "\n";
  } else if (options_.auth == RegistryServerOptions::Auth::kToken) {
    TokenIssuer::Options issuer;
    issuer.username = options_.username;
    issuer.password = options_.password;
    issuer.accept_post = options_.token_accepts_post;
    issuer_ = std::make_unique<TokenIssuer>(issuer);
    WriteFile(dir_ / "token.crt", issuer_->key().cert_pem);
    auth_config = "auth:\n  token:\n    realm: " + issuer_->realm() + "\n    service: " + issuer.service +
                  "\n    issuer: " + issuer.issuer + "\n    rootcertbundle: " + (dir_ / "token.crt") + "\n";
  }
  std::string tls_config;
  TestTls tls;
  if (options_.tls) {
    tls = MakeTestTls();
    WriteFile(ca_file(), tls.ca_cert_pem);
    WriteFile(dir_ / "server.crt", tls.server_cert_pem);
    WriteFile(dir_ / "server.key", tls.server_key_pem);
    tls_config = "  tls:\n    certificate: " + (dir_ / "server.crt") + "\n    key: " + (dir_ / "server.key") + "\n";
  }

  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    port_ = FreeLoopbackPort();
    host_ = "127.0.0.1:" + std::to_string(port_);
    if (options_.tls) WriteFile(certs_dir() + "/" + host_ + "/ca.crt", tls.ca_cert_pem);
    std::string config = "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: " +
                         storage_dir() +
                         "\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\n"
                         "http:\n  addr: " + host_ + "\n  secret: bld-test-secret\n" +
                         (options_.relative_urls ? "  relativeurls: true\n" : "") + tls_config + auth_config;
    WriteFile(dir_ / "config.yml", config);
    std::string log_path = dir_ / "registry.log";
    std::string config_path = dir_ / "config.yml";
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      execlp("docker-registry", "docker-registry", "serve", config_path.c_str(), nullptr);
      _exit(127);
    }
    pid_ = pid;
    auto until = std::chrono::steady_clock::now() + kStartTimeout;
    bool exited = false;
    while (std::chrono::steady_clock::now() < until) {
      if (WaitForPort(port_, kPollInterval)) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited = true;
        pid_ = -1;
        break;
      }
    }
    if (!exited) {
      Stop();
      throw std::runtime_error("docker-registry did not listen on " + host_ + " within 20 s:\n" + log());
    }
    if (log().find("address already in use") == std::string::npos)
      throw std::runtime_error("docker-registry exited at start (is the docker-registry package installed?):\n" + log());
  }
  throw std::runtime_error("docker-registry found no free port:\n" + log());
}

void RegistryServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  auto until = std::chrono::steady_clock::now() + kStopTimeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
}

}  // namespace bld::testing
