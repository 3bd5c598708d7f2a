// `bld login`, `bld logout`, `bld pull` and `bld push`: flags and output as
// docker's, so that scripts and habits carry over.
//
//   $ bld push 127.0.0.1:5000/team/app:v1
//   The push refers to repository [127.0.0.1:5000/team/app]
//   3f1c6b0e9f6a: Pushed
//   8d4a5c1e2b7f: Layer already exists
//   v1: digest: sha256:... size: 528
//
// On a terminal each layer keeps one line, redrawn in place with a progress
// bar; otherwise each state change is a line of its own and progress is not
// shown. Transfer output goes to stdout, as docker's does; warnings and
// errors to stderr.
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "builder/lazy_images.h"
#include "cli/commands.h"
#include "cli/store_lock.h"
#include "registry/credentials.h"
#include "registry/login.h"
#include "registry/puller.h"
#include "registry/pusher.h"
#include "registry/reference.h"
#include "runner/snapshotter.h"
#include "store/error.h"
#include "store/platform.h"

namespace bld::cli {

namespace {

using registry::TransferEvent;
using Kind = TransferEvent::Kind;

// Docker's progress bar: 50 characters between the brackets.
constexpr int kProgressBarWidth = 50;
// A layer's line is redrawn at most this often; state changes always are.
constexpr std::chrono::milliseconds kRedrawInterval{100};
// The layer IDs docker shows: the first 12 hex digits of the digest.
constexpr size_t kShortIdLength = 12;
constexpr std::string_view kDefaultLoginServer = "docker.io";

// Docker's units.HumanSize: decimal units, four significant digits.
std::string HumanSize(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  while (size >= 1000 && unit + 1 < std::size(kUnits)) {
    size /= 1000;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", size, kUnits[unit]);
  return buf;
}

std::string ProgressBar(uint64_t current, uint64_t total) {
  std::string bar;
  if (total > 0) {
    int filled = static_cast<int>(static_cast<double>(std::min(current, total)) / static_cast<double>(total) *
                                  kProgressBarWidth);
    bar = "[" + std::string(std::max(filled - 1, 0), '=') + (filled > 0 ? ">" : "") +
          std::string(kProgressBarWidth - std::max(filled, 1) + (filled > 0 ? 0 : 1), ' ') + "] ";
  }
  return bar + HumanSize(current) + (total > 0 ? "/" + HumanSize(total) : "");
}

// Renders transfer events as docker's pull and push output. The library
// serializes its calls, so no lock is needed here.
class TransferDisplay {
 public:
  TransferDisplay(bool push, bool quiet, FILE* out = stdout)
      : push_(push), quiet_(quiet), out_(out), tty_(isatty(fileno(out)) == 1) {}

  void OnEvent(const TransferEvent& e) {
    if (quiet_ || e.kind == Kind::kResolved) return;
    std::string id = std::string(e.digest.hex().substr(0, kShortIdLength));
    switch (e.kind) {
      case Kind::kQueued: Show(id, push_ ? "Preparing" : "Pulling fs layer", false); break;
      case Kind::kProgress:
        Show(id, std::string(push_ ? "Pushing  " : "Downloading  ") + ProgressBar(e.current, e.total), true);
        break;
      case Kind::kVerifying: Show(id, "Verifying Checksum", false); break;
      case Kind::kDone: Show(id, push_ ? "Pushed" : "Download complete", false); break;
      case Kind::kExists: Show(id, push_ ? "Layer already exists" : "Already exists", false); break;
      case Kind::kMounted: Show(id, "Mounted from " + e.detail, false); break;
      case Kind::kRetrying: Show(id, "Retrying: " + e.detail, false); break;
      case Kind::kResolved: break;
    }
  }

 private:
  void Show(const std::string& id, const std::string& text, bool is_progress) {
    if (!tty_) {
      if (!is_progress) std::fprintf(out_, "%s: %s\n", id.c_str(), text.c_str());
      std::fflush(out_);
      return;
    }
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    auto [it, added] = lines_.try_emplace(id, Line{line_count_, now});
    if (added) {
      ++line_count_;
      std::fprintf(out_, "%s: %s\n", id.c_str(), text.c_str());
    } else {
      Line& line = it->second;
      if (is_progress && now - line.drawn_ms < kRedrawInterval.count()) return;
      line.drawn_ms = now;
      size_t up = line_count_ - line.index;
      std::fprintf(out_, "\x1b[%zuA\r\x1b[2K%s: %s\x1b[%zuB\r", up, id.c_str(), text.c_str(), up);
    }
    std::fflush(out_);
  }

  struct Line {
    size_t index;
    int64_t drawn_ms;
  };
  bool push_;
  bool quiet_;
  FILE* out_;
  bool tty_;
  std::map<std::string, Line> lines_;
  size_t line_count_ = 0;
};

// "https://registry.example.com/v2/" -> "registry.example.com"; Docker Hub's
// names -> "docker.io".
std::string LoginServer(const std::string& argument) {
  std::string host = argument.empty() ? std::string(kDefaultLoginServer) : registry::ConvertToHostname(argument);
  if (registry::CredentialKey(host) == registry::kDockerHubCredentialKey) return std::string(kDefaultLoginServer);
  return host;
}

// Reads a line from the terminal, without echo for passwords.
std::string Prompt(const std::string& label, bool echo) {
  std::fprintf(stderr, "%s", label.c_str());
  std::fflush(stderr);
  termios saved{};
  bool restore = !echo && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::fprintf(stderr, "\n");
  }
  return line;
}

// Docker's "Using default tag: latest" when the user named none.
void NoteDefaultTag(const std::string& name, bool quiet) {
  registry::Reference typed = registry::Reference::ParseNormalizedNamed(name);
  if (!quiet && typed.tag().empty() && typed.digest().empty()) std::printf("Using default tag: latest\n");
}

}  // namespace

registry::RegistryOptions RegistryOptionsFrom(const std::vector<std::string>& insecure) {
  registry::RegistryOptions options;
  options.insecure_registries = insecure;
  options.http.user_agent = std::string("bld/") + BLD_VERSION;
  return options;
}

void PushImage(store::Store& store, const std::string& name, const std::vector<std::string>& insecure, bool quiet,
               FILE* out) {
  registry::Reference ref = registry::Reference::ParseDockerRef(name);
  registry::PushOptions options;
  options.registry = RegistryOptionsFrom(insecure);
  if (!quiet) std::fprintf(out, "The push refers to repository [%s]\n", ref.name().c_str());
  std::fflush(out);
  TransferDisplay display(true, quiet, out);
  // A built image's layers may have no blobs yet (builder/lazy_images.h).
  if (std::optional<store::Descriptor> local = store.GetRef(ref.String())) builder::CompleteImage(store, *local);
  registry::PushResult pushed = registry::Push(store, ref, options, [&](const TransferEvent& e) { display.OnEvent(e); });
  if (quiet) {
    std::fprintf(out, "%s\n", ref.String().c_str());
  } else {
    std::fprintf(out, "%s: digest: %s size: %lld\n", pushed.tag.c_str(), pushed.manifest.digest.str().c_str(),
                 static_cast<long long>(pushed.manifest.size));
  }
  std::fflush(out);
}

void AddLoginCommand(CLI::App& app, CommandContext& ctx) {
  struct Options {
    std::string username;
    std::string password;
    bool password_stdin = false;
    std::vector<std::string> insecure;
    std::string server;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("login", "Log in to a registry (Docker Hub by default)");
  cmd->add_option("-u,--username", opts->username, "Username");
  cmd->add_option("-p,--password", opts->password, "Password");
  cmd->add_flag("--password-stdin", opts->password_stdin, "Take the password from stdin");
  cmd->add_option("--insecure-registry", opts->insecure, "Allow plain HTTP or unverified TLS for this registry");
  cmd->add_option("server", opts->server, "Registry (host[:port]); default: Docker Hub");
  cmd->callback([&ctx, opts] {
    RunCommand(ctx, [opts] {
      if (!opts->password.empty() && opts->password_stdin)
        throw Error("--password and --password-stdin are mutually exclusive");
      std::string server = LoginServer(opts->server);
      bool tty = isatty(STDIN_FILENO) == 1;
      registry::Credentials credentials{opts->username, opts->password, ""};
      if (opts->password_stdin) {
        if (opts->username.empty()) throw Error("Must provide --username with --password-stdin");
        credentials.password.assign(std::istreambuf_iterator<char>(std::cin), {});
        while (!credentials.password.empty() &&
               (credentials.password.back() == '\n' || credentials.password.back() == '\r'))
          credentials.password.pop_back();
      } else if (!opts->password.empty()) {
        std::fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
      }
      if (credentials.username.empty()) {
        if (!tty) throw Error("Cannot perform an interactive login from a non TTY device");
        credentials.username = Prompt("Username: ", true);
      }
      if (credentials.password.empty()) {
        if (!tty) throw Error("Cannot perform an interactive login from a non TTY device");
        credentials.password = Prompt("Password: ", false);
      }
      if (credentials.username.empty() || credentials.password.empty())
        throw Error("login to " + server + ": a username and a password are required");
      registry::Credentials checked = registry::Login(RegistryOptionsFrom(opts->insecure), server, credentials);
      registry::DockerConfig config(registry::DockerConfig::DefaultDir());
      if (config.Store(server, checked) == registry::DockerConfig::Location::kFile)
        std::fprintf(stderr,
                     "WARNING! Your password will be stored unencrypted in %s.\n"
                     "Configure a credential helper to remove this warning.\n",
                     config.path().c_str());
      std::printf("Login Succeeded\n");
      return 0;
    });
  });
}

void AddLogoutCommand(CLI::App& app, CommandContext& ctx) {
  auto server = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("logout", "Log out from a registry (Docker Hub by default)");
  cmd->add_option("server", *server, "Registry (host[:port]); default: Docker Hub");
  cmd->callback([&ctx, server] {
    RunCommand(ctx, [server] {
      std::string host = LoginServer(*server);
      registry::DockerConfig config(registry::DockerConfig::DefaultDir());
      if (!config.Erase(host)) {
        std::printf("Not logged in to %s\n", host.c_str());
        return 0;
      }
      std::printf("Removing login credentials for %s\n", registry::CredentialKey(host).c_str());
      return 0;
    });
  });
}

void AddPullCommand(CLI::App& app, CommandContext& ctx) {
  struct Options {
    std::string platform;
    std::vector<std::string> insecure;
    bool quiet = false;
    std::string name;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("pull", "Pull an image from a registry into the store");
  cmd->add_option("--platform", opts->platform, "Platform to pick from a multi-platform image (os/arch[/variant])");
  cmd->add_option("--insecure-registry", opts->insecure, "Allow plain HTTP or unverified TLS for this registry");
  cmd->add_flag("-q,--quiet", opts->quiet, "Print only the image name");
  cmd->add_option("name", opts->name, "Image: NAME[:TAG|@DIGEST]")->required();
  cmd->callback([&ctx, opts] {
    RunCommand(ctx, [&ctx, opts] {
      NoteDefaultTag(opts->name, opts->quiet);
      registry::Reference ref = registry::Reference::ParseDockerRef(opts->name);
      auto store = OpenStore(ctx);
      store::GcLock gc_lock = LockStoreShared(*store);
      registry::PullOptions options;
      options.registry = RegistryOptionsFrom(opts->insecure);
      if (!opts->platform.empty()) options.platform = store::ParsePlatform(opts->platform);
      // As `docker pull`: the image is ready to run when the pull ends.
      runner::Snapshotter::PullUnpacks unpacks(*store);
      options.unpack = &unpacks;
      std::optional<store::Descriptor> before = store->GetRef(ref.String());
      if (!opts->quiet)
        std::printf("%s: Pulling from %s\n", (ref.digest().empty() ? ref.tag() : ref.digest()).c_str(),
                    ref.path().c_str());
      std::fflush(stdout);
      TransferDisplay display(false, opts->quiet);
      store::Digest resolved;
      store::Descriptor pulled = registry::Pull(*store, ref, options, [&](const TransferEvent& e) {
        if (e.kind == Kind::kResolved) resolved = e.digest;
        display.OnEvent(e);
      });
      if (!opts->quiet) {
        std::printf("Digest: %s\n", resolved.str().c_str());
        bool fresh = !before || before->digest != pulled.digest;
        std::printf("Status: %s for %s\n", fresh ? "Downloaded newer image" : "Image is up to date",
                    ref.FamiliarString().c_str());
      }
      std::printf("%s\n", ref.String().c_str());
      return 0;
    });
  });
}

void AddPushCommand(CLI::App& app, CommandContext& ctx) {
  struct Options {
    std::vector<std::string> insecure;
    bool quiet = false;
    std::string name;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("push", "Push an image from the store to a registry");
  cmd->add_option("--insecure-registry", opts->insecure, "Allow plain HTTP or unverified TLS for this registry");
  cmd->add_flag("-q,--quiet", opts->quiet, "Print only the image name");
  cmd->add_option("name", opts->name, "Image: NAME[:TAG]")->required();
  cmd->callback([&ctx, opts] {
    RunCommand(ctx, [&ctx, opts] {
      NoteDefaultTag(opts->name, opts->quiet);
      auto store = OpenStore(ctx);
      store::GcLock gc_lock = LockStoreShared(*store);
      PushImage(*store, opts->name, opts->insecure, opts->quiet, stdout);
      return 0;
    });
  });
}

}  // namespace bld::cli
