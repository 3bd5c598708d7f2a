#include "cli/build_secrets.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "store/error.h"
#include "store/unique_fd.h"

extern char** environ;

namespace bld::cli {

namespace {

using store::UniqueFd;

// BuildKit's limit on a secret's size.
constexpr size_t kMaxSecretSize = 500 * 1024;
// ssh-agent's and ssh-add's messages are a few lines.
constexpr size_t kMaxToolOutput = 64 * 1024;
// The agent runs this as its child and lives as long as it does: it says
// the agent is ready (the socket is bound before the command starts) with
// the agent's pid, and ends when bld closes its stdin, however bld ends.
constexpr const char* kAgentKeeper = "echo ready $SSH_AGENT_PID; read _";

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (;;) {
    size_t end = text.find(separator, pos);
    parts.push_back(text.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (end == std::string::npos) return parts;
    pos = end + 1;
  }
}

std::string ReadSecretFile(const std::string& flag, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw SysError(flag + ": cannot read " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw SysError(flag + ": cannot read " + path);
  if (!S_ISREG(st.st_mode)) throw Error(flag + ": " + path + " is not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxSecretSize)
    throw Error(flag + ": " + path + " is larger than a secret may be (500 KiB)");
  std::string content;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SysError(flag + ": cannot read " + path);
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > kMaxSecretSize) throw Error(flag + ": " + path + " is larger than a secret may be (500 KiB)");
  }
  return content;
}

std::string ReadSecretEnv(const std::string& flag, const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value) throw Error(flag + ": the environment variable " + name + " is not set");
  if (std::strlen(value) > kMaxSecretSize) throw Error(flag + ": " + name + " is larger than a secret may be (500 KiB)");
  return value;
}

struct Spawned {
  pid_t pid = -1;
  UniqueFd output;  // stdout and stderr
};

// Starts argv[0] from PATH with `env` added, stdin from `in_fd` (or
// /dev/null when -1), stdout and stderr into a pipe.
Spawned Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int in_fd) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw SysError("pipe for " + argv[0]);
  UniqueFd out_read(out[0]), out_write(out[1]);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_fd >= 0 ? in_fd : null.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 2);
  std::vector<std::string> environment = env;
  for (char** e = environ; *e; ++e) environment.emplace_back(*e);
  std::vector<char*> args, envp;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const std::string& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  Spawned spawned;
  int rc = posix_spawnp(&spawned.pid, argv[0].c_str(), &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::string why = rc == ENOENT ? "it is not installed (Debian's openssh-client has it)" : std::strerror(rc);
    throw Error("cannot run " + argv[0] + ": " + why);
  }
  spawned.output = std::move(out_read);
  return spawned;
}

// Reads up to `stop` (a character, or the end when -1) from `fd`.
std::string ReadOutput(int fd, int stop) {
  std::string text;
  char c;
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == stop) return text;
    if (text.size() < kMaxToolOutput) text.push_back(c);
  }
}

int Wait(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool IsSocket(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

std::map<std::string, std::string> ReadSecrets(const std::vector<std::string>& specs) {
  std::map<std::string, std::string> secrets;
  for (const std::string& spec : specs) {
    std::string flag = "--secret " + spec;
    std::string id, source, env, type;
    for (const std::string& field : Split(spec, ',')) {
      size_t eq = field.find('=');
      std::string key = field.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
      if (eq == std::string::npos || value.empty()) throw Error(flag + ": " + field + " needs a value (key=value)");
      if (key == "id") {
        id = value;
      } else if (key == "src" || key == "source") {
        source = value;
      } else if (key == "env") {
        env = value;
      } else if (key == "type") {
        if (value != "file" && value != "env") throw Error(flag + ": type=" + value + " (use file or env)");
        type = value;
      } else {
        throw Error(flag + ": unknown key '" + key + "' (use id, src, env or type)");
      }
    }
    if (id.empty()) throw Error(flag + ": the secret needs an id (id=NAME)");
    if (!source.empty() && !env.empty()) throw Error(flag + ": give src or env, not both");
    if (type.empty()) type = !source.empty() ? "file" : !env.empty() ? "env" : std::getenv(id.c_str()) ? "env" : "file";
    if (type == "env" && !source.empty()) throw Error(flag + ": type=env reads env=VAR, not src");
    if (type == "file" && !env.empty()) throw Error(flag + ": type=file reads src=FILE, not env");
    secrets[id] = type == "env" ? ReadSecretEnv(flag, env.empty() ? id : env)
                                : ReadSecretFile(flag, source.empty() ? id : source);
  }
  return secrets;
}

SshAgents::SshAgents(const std::vector<std::string>& specs, const std::string& scratch_dir) {
  try {
    for (const std::string& spec : specs) {
      std::string flag = "--ssh " + spec;
      size_t eq = spec.find('=');
      std::string id = spec.substr(0, eq);
      if (id.empty()) throw Error(flag + ": the agent needs an id (--ssh default or --ssh ID=PATH)");
      if (eq == std::string::npos) {
        const char* sock = std::getenv("SSH_AUTH_SOCK");
        if (!sock || !*sock)
          throw Error(flag + ": SSH_AUTH_SOCK is not set; start ssh-agent, or name a socket or key file (" + id +
                      "=~/.ssh/id_ed25519)");
        sockets_[id] = sock;
        continue;
      }
      std::vector<std::string> keys;
      for (const std::string& path : Split(spec.substr(eq + 1), ',')) {
        if (IsSocket(path)) {
          if (Split(spec.substr(eq + 1), ',').size() != 1)
            throw Error(flag + ": an agent socket cannot be combined with other sockets or keys");
          sockets_[id] = path;
          continue;
        }
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) throw SysError(flag + ": " + path);
        if (!S_ISREG(st.st_mode)) throw Error(flag + ": " + path + " is neither an agent socket nor a key file");
        keys.push_back(path);
      }
      if (!keys.empty()) {
        if (dir_.empty()) {
          std::string tmpl = scratch_dir + "/ssh-XXXXXX";
          if (!::mkdtemp(tmpl.data())) throw SysError("cannot create a directory for the ssh agent in " + scratch_dir);
          dir_ = tmpl;
        }
        sockets_[id] = StartAgent(id, keys);
      }
    }
  } catch (...) {
    Stop();
    throw;
  }
}

SshAgents::~SshAgents() { Stop(); }

void SshAgents::Stop() {
  for (Agent& agent : agents_) {
    if (agent.agent > 0) ::kill(agent.agent, SIGTERM);
    agent.keep.Reset();
    Wait(agent.keeper);
  }
  agents_.clear();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

std::string SshAgents::StartAgent(const std::string& id, const std::vector<std::string>& keys) {
  std::string socket = dir_ + "/agent." + std::to_string(agents_.size());
  int keep[2];
  if (::pipe2(keep, O_CLOEXEC) != 0) throw SysError("pipe for ssh-agent");
  UniqueFd keep_read(keep[0]), keep_write(keep[1]);
  Spawned started = Spawn({"ssh-agent", "-a", socket, "sh", "-c", kAgentKeeper}, {}, keep_read.get());
  keep_read.Reset();
  Agent agent;
  agent.keeper = started.pid;
  agent.keep = std::move(keep_write);
  std::string line = ReadOutput(started.output.get(), '\n');
  if (!line.starts_with("ready ")) {
    line += ReadOutput(started.output.get(), -1);
    agents_.push_back(std::move(agent));
    throw Error("--ssh " + id + ": ssh-agent did not start: " + line);
  }
  agent.agent = static_cast<pid_t>(std::atoi(line.substr(std::strlen("ready ")).c_str()));
  agents_.push_back(std::move(agent));
  for (const std::string& key : keys) {
    Spawned add = Spawn({"ssh-add", "-q", key}, {"SSH_AUTH_SOCK=" + socket, "SSH_ASKPASS_REQUIRE=never"}, -1);
    std::string output = ReadOutput(add.output.get(), -1);
    if (Wait(add.pid) != 0)
      throw Error("--ssh " + id + ": ssh-add " + key + " failed (a key with a passphrase must be added to an agent "
                  "first, and that agent's socket given instead): " + output);
  }
  return socket;
}

}  // namespace bld::cli
