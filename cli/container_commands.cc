// `bld run`, `ps`, `exec`, `stop`, `kill`, `rm`, `logs` and `commit`, with
// docker's flags and output, and `bld container-monitor`, the process `bld
// run -d` leaves behind (runner/container_monitor.h).
//
//   $ bld run -d -p 4000:80 --name web helloworld
//   5f0c1e...(64 hex)
//   $ bld ps
//   CONTAINER ID   IMAGE        COMMAND                  CREATED         STATUS         PORTS                  NAMES
//   5f0c1e2a9b3d   helloworld   "httpd -f -v -p 80 -…"   3 seconds ago   Up 3 seconds   0.0.0.0:4000->80/tcp   web
#include "cli/container_commands.h"
#include "cli/source_date_epoch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "builder/config_step.h"
#include "builder/lazy_images.h"
#include "cli/store_lock.h"
#include "cli/table_format.h"
#include "parser/dockerfile.h"
#include "parser/expansion.h"
#include "registry/image_lookup.h"
#include "registry/puller.h"
#include "registry/reference.h"
#include "runner/container_commit.h"
#include "runner/container_exec.h"
#include "runner/container_lifecycle.h"
#include "runner/container_log.h"
#include "runner/container_monitor.h"
#include "runner/container_state.h"
#include "runner/emulation.h"
#include "runner/port_forwarder.h"
#include "runner/snapshotter.h"
#include "runner/terminal.h"
#include "runner/volume_store.h"
#include "store/error.h"
#include "store/exit_codes.h"
#include "store/image.h"
#include "store/platform.h"
#include "store/timestamp.h"

namespace bld::cli {

namespace {

using Clock = std::chrono::system_clock;
using nlohmann::ordered_json;
using runner::ContainerRecord;
using runner::ContainerStatus;

// Docker's widths: 12 hex digits of an ID, COMMAND cut to 20 characters.
constexpr size_t kShortId = 12;
constexpr size_t kCommandWidth = 20;
// `docker stop`'s default grace period.
constexpr int kDefaultStopSeconds = 10;
// How often `logs -f` looks for new output.
constexpr std::chrono::milliseconds kFollowInterval{100};
// --memory suffixes are binary, as docker's RAMInBytes.
constexpr int64_t kKiB = 1024;

std::string Now() { return store::FormatTimestamp(Clock::now()); }

std::string Ago(const std::string& timestamp) {
  std::optional<Clock::time_point> then = store::ParseTimestamp(timestamp);
  if (!then) return "";
  return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - *then).count()) + " ago";
}

// ---- bld run: from flags to a container record ----------------------------

struct RunFlags {
  bool detach = false;
  bool remove = false;
  bool interactive = false;
  bool tty = false;
  std::string name;
  std::vector<std::string> publish;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::vector<std::string> volumes;
  std::string network = "default";
  std::string workdir;
  std::string user;
  std::optional<std::string> entrypoint;
  std::string hostname;
  std::string memory;
  double cpus = 0;
  int64_t pids_limit = 0;
  std::vector<std::string> insecure;
  std::string platform;  // empty: the host's
  // Security (runner/container_security.h).
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  bool privileged = false;
  std::vector<std::string> security_opts;
  bool read_only = false;
  std::vector<std::string> tmpfs;
  std::vector<std::string> ulimits;
  std::vector<std::string> group_add;
  std::vector<std::string> devices;
  std::vector<std::string> args;  // IMAGE [COMMAND [ARG...]]
};

// Docker's names are "adjective_surname"; these are bld's own lists.
std::string GenerateName(const store::Store& store) {
  static constexpr const char* kAdjectives[] = {"brave", "calm",   "eager", "fond",  "gentle", "keen",  "lucid",
                                                "merry", "nimble", "proud", "quiet", "sharp",  "swift", "witty"};
  static constexpr const char* kNames[] = {"babbage", "curie",    "darwin",  "euler",  "faraday", "gauss",  "hopper",
                                           "kepler",  "lovelace", "noether", "pascal", "ritchie", "turing", "wu"};
  // After this many taken names a digit is appended, as docker does.
  constexpr int kPlainNameAttempts = 8;
  constexpr unsigned kDigits = 10;
  std::vector<ContainerRecord> records = runner::ListRecords(store);
  auto taken = [&](const std::string& name) {
    return std::any_of(records.begin(), records.end(), [&](const ContainerRecord& r) { return r.name == name; });
  };
  std::random_device random;
  for (int attempt = 0;; ++attempt) {
    std::string name =
        std::string(kAdjectives[random() % std::size(kAdjectives)]) + "_" + kNames[random() % std::size(kNames)];
    if (attempt >= kPlainNameAttempts) name += std::to_string(random() % kDigits);
    if (!taken(name)) return name;
  }
}

// "512m" -> 536870912, as docker's RAMInBytes.
int64_t ParseMemory(const std::string& text) {
  size_t end = 0;
  double value = 0;
  try {
    value = std::stod(text, &end);
  } catch (const std::exception&) {
    throw Error("invalid size: '" + text + "'");
  }
  std::string unit = text.substr(end);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!unit.empty() && unit.back() == 'b' && unit.size() > 1) unit.pop_back();
  int64_t scale = 1;
  if (unit == "k") {
    scale = kKiB;
  } else if (unit == "m") {
    scale = kKiB * kKiB;
  } else if (unit == "g") {
    scale = kKiB * kKiB * kKiB;
  } else if (!unit.empty() && unit != "b") {
    throw Error("invalid size: '" + text + "'");
  }
  if (value <= 0) throw Error("invalid size: '" + text + "'");
  return static_cast<int64_t>(value * static_cast<double>(scale));
}

// "KEY=value" kept; "KEY" takes the value from bld's environment, and is
// dropped when bld has none, as docker does.
void AddEnv(std::vector<std::string>& env, const std::string& entry) {
  std::string resolved = entry;
  if (entry.find('=') == std::string::npos) {
    const char* value = std::getenv(entry.c_str());
    if (!value) return;
    resolved = entry + "=" + value;
  }
  builder::SetEnv(env, resolved.substr(0, resolved.find('=')), resolved.substr(resolved.find('=') + 1));
}

void AddEnvFile(std::vector<std::string>& env, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("open " + path + ": no such file or directory");
  for (std::string line; std::getline(in, line);) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    AddEnv(env, line.substr(start));
  }
}

// ENTRYPOINT and CMD as docker combines them: a given command replaces CMD;
// --entrypoint replaces ENTRYPOINT and drops the image's CMD.
std::vector<std::string> CommandOf(const store::ContainerConfig& config, const RunFlags& f,
                                   const std::vector<std::string>& command) {
  std::vector<std::string> entrypoint = config.entrypoint;
  std::vector<std::string> cmd = config.cmd;
  if (f.entrypoint) {
    entrypoint = f.entrypoint->empty() ? std::vector<std::string>{} : std::vector<std::string>{*f.entrypoint};
    cmd.clear();
  }
  if (!command.empty()) cmd = command;
  std::vector<std::string> argv = entrypoint;
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  if (argv.empty()) throw Error("no command specified");
  return argv;
}

runner::ContainerSecurity SecurityOf(const RunFlags& f) {
  runner::ContainerSecurity security;
  security.privileged = f.privileged;
  for (const std::string& cap : f.cap_add) security.cap_add.push_back(runner::NormalizeCapability(cap));
  for (const std::string& cap : f.cap_drop) security.cap_drop.push_back(runner::NormalizeCapability(cap));
  for (const std::string& opt : f.security_opts) runner::ApplySecurityOpt(security, opt);
  security.read_only_rootfs = f.read_only;
  for (const std::string& spec : f.tmpfs) security.tmpfs.push_back(runner::ParseTmpfs(spec));
  for (const std::string& spec : f.ulimits) security.ulimits.push_back(runner::ParseUlimit(spec));
  for (const std::string& spec : f.devices) security.devices.push_back(runner::ParseDevice(spec));
  return security;
}

// Removes the anonymous volumes made for a container that was not made.
void RemoveAnonymousVolumes(store::Store& store, const std::vector<runner::MountRecord>& mounts) {
  for (const runner::MountRecord& m : mounts)
    if (m.anonymous) runner::RemoveVolume(store, m.name);
}

// -v specs: /ctr (anonymous volume), NAME:/ctr[:ro|rw], /host:/ctr[:ro|rw].
std::vector<runner::MountRecord> ParseVolumes(store::Store& store, const std::vector<std::string>& specs,
                                              const std::set<std::string>& image_volumes) {
  std::vector<runner::MountRecord> mounts;
  try {
    std::set<std::string> destinations;
    for (const std::string& spec : specs) {
      std::vector<std::string> parts;
      for (size_t pos = 0;;) {
        size_t colon = spec.find(':', pos);
        parts.push_back(spec.substr(pos, colon - pos));
        if (colon == std::string::npos) break;
        pos = colon + 1;
      }
      runner::MountRecord mount;
      if (parts.size() == 3) {
        if (parts[2] != "ro" && parts[2] != "rw") throw Error("invalid mode: " + parts[2]);
        mount.read_only = parts[2] == "ro";
      } else if (parts.size() != 1 && parts.size() != 2) {
        throw Error("invalid volume specification: '" + spec + "'");
      }
      std::string destination = parts.size() == 1 ? parts[0] : parts[1];
      if (destination.empty() || destination[0] != '/')
        throw Error("invalid volume specification: '" + spec + "': the container path must be absolute");
      mount.destination = builder::ResolveWorkdir("/", destination);
      if (mount.destination == "/") throw Error("invalid volume specification: '" + spec + "': the destination is /");
      if (!destinations.insert(mount.destination).second) throw Error("Duplicate mount point: " + mount.destination);
      if (parts.size() == 1 || (!parts[0].empty() && parts[0][0] != '/')) {
        runner::VolumeRecord volume = runner::CreateVolume(store, parts.size() == 1 ? "" : parts[0], parts.size() == 1);
        mount.type = "volume";
        mount.name = volume.name;
        mount.source = volume.mountpoint;
        mount.anonymous = volume.anonymous;
      } else {
        struct stat st;
        if (::stat(parts[0].c_str(), &st) != 0) {
          // docker creates a missing host directory.
          std::error_code ec;
          std::filesystem::create_directories(parts[0], ec);
          if (ec) throw Error("create the host directory " + parts[0] + ": " + ec.message());
        }
        mount.type = "bind";
        mount.source = std::filesystem::canonical(parts[0]).string();
      }
      mounts.push_back(mount);
    }
    for (const std::string& path : image_volumes) {
      std::string destination = builder::ResolveWorkdir("/", path);
      if (destinations.count(destination)) continue;
      runner::VolumeRecord volume = runner::CreateVolume(store, "", true);
      mounts.push_back({"volume", volume.name, volume.mountpoint, destination, false, true});
    }
  } catch (const Error&) {
    RemoveAnonymousVolumes(store, mounts);
    throw;
  }
  return mounts;
}

// The image to run: local, else pulled as `docker run` does.
store::Descriptor ResolveImage(store::Store& store, const std::string& name, const RunFlags& f,
                               const store::Platform& platform) {
  if (std::optional<store::Descriptor> local = registry::FindLocalImage(store, name)) return *local;
  registry::Reference ref = registry::Reference::ParseDockerRef(name);
  std::fprintf(stderr, "Unable to find image '%s' locally\n", ref.FamiliarString().c_str());
  registry::PullOptions options;
  options.registry = RegistryOptionsFrom(f.insecure);
  options.platform = platform;
  runner::Snapshotter::PullUnpacks unpacks(store);
  options.unpack = &unpacks;
  return registry::Pull(store, ref, options);
}

// The image to run: --platform's entry of a multi-platform image (the
// host's without it), refused if it is for another platform than asked or
// if its programs cannot run here (no emulator, runner/emulation.h).
store::Image ReadRunImage(store::Store& store, const std::string& name, const RunFlags& f) {
  store::Platform wanted = f.platform.empty() ? store::HostPlatform() : store::ParsePlatform(f.platform);
  store::Image image = store::ReadImage(store, ResolveImage(store, name, f, wanted), wanted);
  std::optional<store::Platform> have = store::ConfigPlatform(image.config);
  if (!have) return image;
  if (!f.platform.empty() && !store::MatchRank(wanted, *have))
    throw Error("image " + name + " is for " + store::FormatPlatform(*have) + ", not the --platform asked for (" +
                store::FormatPlatform(wanted) + ")");
  if (std::optional<std::string> problem = runner::EmulationProblem(*have))
    throw Error("cannot run image " + name + ": " + *problem);
  return image;
}

ContainerRecord MakeRecord(store::Store& store, const RunFlags& f) {
  ContainerRecord r;
  // The flags first: a bad one must not cost a pull.
  r.security = SecurityOf(f);
  r.image = f.args.at(0);
  std::vector<std::string> command(f.args.begin() + 1, f.args.end());
  store::Image image = ReadRunImage(store, r.image, f);
  const store::ContainerConfig& config = image.config.config;
  std::vector<runner::LayerRef> layers;
  for (size_t i = 0; i < image.manifest.layers.size() && i < image.config.rootfs.diff_ids.size(); ++i)
    layers.push_back({image.config.rootfs.diff_ids[i], image.manifest.layers[i].digest});
  // Remote layers (a push-only build's, a base pulled without them) first.
  builder::FetchRemoteLayers(store, layers, RegistryOptionsFrom(f.insecure));
  r.lowerdirs = runner::Snapshotter(store).Prepare(layers);
  r.id = runner::NewContainerId();
  r.name = f.name.empty() ? GenerateName(store) : f.name;
  if (r.name.starts_with('/')) r.name.erase(0, 1);
  r.image_id = image.id().str();
  r.image_manifest = image.manifest_descriptor.digest.str();
  r.created = Now();
  r.run.argv = CommandOf(config, f, command);
  r.run.env = config.env;
  for (const std::string& file : f.env_files) AddEnvFile(r.run.env, file);
  for (const std::string& entry : f.env) AddEnv(r.run.env, entry);
  r.run.user = f.user.empty() ? config.user : f.user;
  r.run.workdir = f.workdir.empty() ? config.working_dir : f.workdir;
  r.run.hostname = f.hostname;
  r.network = f.network == "bridge" ? "default" : f.network;
  if (r.network == "host") {
    r.run.network = runner::NetworkMode::kHost;
  } else if (r.network == "none" || r.network == "default") {
    r.run.network = runner::NetworkMode::kNone;
  } else if (r.network.starts_with("container:")) {
    r.run.network = runner::NetworkMode::kJoin;
    // Stored by ID: the name may be given to another container later.
    r.network = "container:" + runner::FindContainer(store, r.network.substr(std::strlen("container:"))).id;
  } else {
    throw Error("network " + f.network + " not found (bld knows default, none, host and container:<name|id>)");
  }
  for (const std::string& spec : f.publish) r.ports.push_back(runner::ParsePortMapping(spec));
  if (!r.ports.empty() && r.network != "default")
    throw Error("conflicting options: port publishing and the container type network mode");
  r.stop_signal = config.stop_signal;
  r.tty = f.tty;
  r.open_stdin = f.interactive;
  r.auto_remove = f.remove;
  if (!f.memory.empty()) r.resources.memory_bytes = ParseMemory(f.memory);
  if (f.cpus < 0) throw Error("invalid value for --cpus: " + std::to_string(f.cpus));
  r.resources.cpus = f.cpus;
  r.resources.pids_limit = f.pids_limit;
  r.run.group_add = f.group_add;
  r.mounts = ParseVolumes(store, f.volumes, config.volumes);
  std::set<std::string> destinations;
  for (const runner::MountRecord& m : r.mounts) destinations.insert(m.destination);
  for (runner::TmpfsSpec& tmpfs : r.security.tmpfs) {
    tmpfs.target = builder::ResolveWorkdir("/", tmpfs.target);
    if (!destinations.insert(tmpfs.target).second) {
      RemoveAnonymousVolumes(store, r.mounts);
      throw Error("Duplicate mount point: " + tmpfs.target);
    }
  }
  return r;
}

// What CLI11 leaves in front of IMAGE (or CONTAINER) when it stops at an
// option it does not know: docker's error for it, and 125, rather than
// taking "--cap-drop" for the image. Returns whether the arguments are good.
bool CheckLeadingFlag(const std::string& command, const std::vector<std::string>& args, CommandContext& ctx) {
  if (args.empty() || args[0].size() < 2 || args[0][0] != '-') return true;
  const std::string& flag = args[0];
  std::string message = flag.starts_with("--") ? "unknown flag: " + flag.substr(0, flag.find('='))
                                               : "unknown shorthand flag: '" + flag.substr(1, 1) + "' in " + flag;
  std::fprintf(stderr, "%s\nSee 'bld %s --help'.\n", message.c_str(), command.c_str());
  ctx.exit_code = exit_code::kSetupFailed;
  return false;
}

// Starts `bld container-monitor` for the container and waits for its word:
// "" when it died first, "ok", or "<exit code>:<message>".
std::string LaunchMonitor(const store::Store& store, const std::string& id, int lock_fd) {
  char self[PATH_MAX];
  ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (length < 0) throw SysError("find the bld binary (/proc/self/exe)");
  self[length] = '\0';
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) throw SysError("create a pipe");
  runner::UniqueFd status_read(status_pipe[0]), status_write(status_pipe[1]);
  std::vector<std::string> args = {"bld",
                                   "--root",
                                   store.root(),
                                   "container-monitor",
                                   "--lock-fd",
                                   std::to_string(lock_fd),
                                   "--status-fd",
                                   std::to_string(status_write.get()),
                                   id};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw SysError("fork the container monitor");
  if (pid == 0) {
    // Out of bld's session and off its stdio: the monitor outlives this
    // command, and whoever reads bld's output must see it end.
    ::setsid();
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    ::fcntl(lock_fd, F_SETFD, 0);
    ::fcntl(status_write.get(), F_SETFD, 0);
    ::execv(self, argv.data());
    ::_exit(exit_code::kSetupFailed);
  }
  status_write.Reset();
  std::string word;
  char buffer[PIPE_BUF];
  ssize_t n;
  while ((n = ::read(status_read.get(), buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) word.append(buffer, static_cast<size_t>(n));
  return word;
}

int RunRun(const CommandContext& ctx, RunFlags f) {
  if (f.args.empty()) throw Error("\"bld run\" requires at least 1 argument: IMAGE [COMMAND] [ARG...]");
  auto store = OpenStore(ctx);
  ContainerRecord record;
  runner::UniqueFd lock;
  {
    // Pulling and unpacking write blobs and snapshots a prune must not take.
    store::GcLock gc_lock = LockStoreShared(*store);
    record = MakeRecord(*store, f);
    lock = runner::CreateContainerDir(*store, record.id);
    try {
      runner::CreateRecord(*store, record);
    } catch (const Error&) {
      std::error_code ec;
      std::filesystem::remove_all(runner::ContainerDir(*store, record.id), ec);
      RemoveAnonymousVolumes(*store, record.mounts);
      throw;
    }
  }
  if (f.detach) {
    std::string word = LaunchMonitor(*store, record.id, lock.get());
    lock.Reset();
    if (word == "ok") {
      std::printf("%s\n", record.id.c_str());
      return 0;
    }
    if (word.empty()) throw Error("the container monitor of " + record.id + " exited before the container started");
    size_t colon = word.find(':');
    std::fprintf(stderr, "Error: %s\n", word.substr(colon + 1).c_str());
    return std::atoi(word.substr(0, colon).c_str());
  }
  runner::MonitorIo io{f.interactive ? STDIN_FILENO : -1, STDOUT_FILENO, STDERR_FILENO};
  std::optional<runner::RawTerminal> raw;
  if (f.tty && f.interactive) raw.emplace(STDIN_FILENO);
  try {
    runner::ExitStatus status = runner::MonitorContainer(*store, record.id, std::move(lock), io, [] {});
    return runner::ExitCodeOf(status);
  } catch (const runner::StartError& e) {
    raw.reset();
    std::fprintf(stderr, "Error: %s\n", e.what());
    return e.exit_code();
  }
}

int RunMonitor(const CommandContext& ctx, int lock_fd, int status_fd, const std::string& id) {
  ::fcntl(lock_fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(status_fd, F_SETFD, FD_CLOEXEC);
  runner::UniqueFd status(status_fd);
  auto tell = [&](const std::string& word) {
    if (!status) return;
    [[maybe_unused]] ssize_t n = ::write(status.get(), word.data(), word.size());
    status.Reset();
  };
  try {
    auto store = OpenStore(ctx);
    runner::MonitorContainer(*store, id, runner::UniqueFd(lock_fd), {}, [&] { tell("ok"); });
  } catch (const runner::StartError& e) {
    tell(std::to_string(e.exit_code()) + ":" + e.what());
  } catch (const std::exception& e) {
    tell(std::to_string(exit_code::kSetupFailed) + ":" + e.what());
  }
  return 0;
}

// ---- ps --------------------------------------------------------------------

std::string PortsColumn(const ContainerRecord& r) {
  std::string out;
  for (const runner::PortMapping& p : r.ports) {
    if (!out.empty()) out += ", ";
    out += (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + std::to_string(p.host_port) + "->" +
           std::to_string(p.container_port) + "/" + p.protocol;
  }
  return out;
}

std::string StatusColumn(const ContainerRecord& r) {
  switch (r.status) {
    case ContainerStatus::kCreated:
      return "Created";
    case ContainerStatus::kRunning: {
      std::optional<Clock::time_point> started = store::ParseTimestamp(r.started_at);
      int64_t seconds = started ? std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - *started).count() : 0;
      return "Up " + HumanDuration(seconds);
    }
    case ContainerStatus::kExited: {
      std::string ago = Ago(r.finished_at.empty() ? r.created : r.finished_at);
      return "Exited (" + std::to_string(r.exit_code) + ")" + (ago.empty() ? "" : " " + ago);
    }
  }
  return "";
}

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) line += (line.empty() ? "" : " ") + arg;
  return line;
}

std::vector<ContainerRecord> LiveRecords(const store::Store& store) {
  std::vector<ContainerRecord> records;
  for (ContainerRecord& r : runner::ListRecords(store)) records.push_back(runner::LiveState(store, std::move(r)));
  // Newest first, as docker lists them.
  std::sort(records.begin(), records.end(), [](const ContainerRecord& a, const ContainerRecord& b) {
    return store::ParseTimestamp(a.created) > store::ParseTimestamp(b.created);
  });
  return records;
}

int RunPs(const CommandContext& ctx, bool all, bool quiet, bool no_trunc) {
  auto store = OpenStore(ctx);
  Table table({"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"});
  for (const ContainerRecord& r : LiveRecords(*store)) {
    if (!all && r.status != ContainerStatus::kRunning) continue;
    std::string id = no_trunc ? r.id : r.id.substr(0, kShortId);
    if (quiet) {
      std::printf("%s\n", id.c_str());
      continue;
    }
    std::string command = CommandLine(r.run.argv);
    table.AddRow({id, r.image, "\"" + (no_trunc ? command : Ellipsis(command, kCommandWidth)) + "\"", Ago(r.created),
                  StatusColumn(r), r.status == ContainerStatus::kRunning ? PortsColumn(r) : "", r.name});
  }
  if (!quiet) std::fputs(table.Render().c_str(), stdout);
  return 0;
}

// ---- stop, kill, rm, logs, exec, commit ------------------------------------

// Runs `action` on each named container; errors are shown and the others
// still done, as docker does.
int ForEach(const CommandContext& ctx, const std::vector<std::string>& names,
            const std::function<void(store::Store&, const ContainerRecord&)>& action) {
  auto store = OpenStore(ctx);
  int code = 0;
  for (const std::string& name : names) {
    try {
      action(*store, runner::FindContainer(*store, name));
      std::printf("%s\n", name.c_str());
      std::fflush(stdout);
    } catch (const Error& e) {
      std::fprintf(stderr, "Error: %s\n", e.what());
      code = 1;
    }
  }
  return code;
}

void PrintEntry(const runner::LogEntry& entry) {
  std::FILE* out = entry.stream == runner::LogStream::kStderr ? stderr : stdout;
  std::fwrite(entry.text.data(), 1, entry.text.size(), out);
}

int RunLogs(const CommandContext& ctx, const std::string& name, bool follow, const std::string& tail_flag) {
  auto store = OpenStore(ctx);
  ContainerRecord record = runner::FindContainer(*store, name);
  long tail = -1;
  if (!tail_flag.empty() && tail_flag != "all") {
    char* end = nullptr;
    tail = std::strtol(tail_flag.c_str(), &end, 10);
    if (*end != '\0' || tail < 0) throw Error("invalid value for --tail: " + tail_flag);
  }
  std::string path = runner::ContainerDir(*store, record.id) + "/log";
  size_t offset = runner::ReadLog(path, 0, tail, PrintEntry);
  std::fflush(stdout);
  while (follow) {
    // Checked before reading, so that output written just before the end is
    // still read once more after it.
    bool alive = runner::MonitorAlive(*store, record.id);
    offset = runner::ReadLog(path, offset, -1, PrintEntry);
    std::fflush(stdout);
    std::fflush(stderr);
    if (!alive) break;
    std::this_thread::sleep_for(kFollowInterval);
  }
  return 0;
}

struct ExecFlags {
  bool interactive = false;
  bool tty = false;
  std::vector<std::string> env;
  std::string user;
  std::string workdir;
  bool privileged = false;
  std::vector<std::string> args;  // CONTAINER COMMAND [ARG...]
};

int RunExec(const CommandContext& ctx, const ExecFlags& f) {
  if (f.args.size() < 2) throw Error("\"bld exec\" requires at least 2 arguments: CONTAINER COMMAND [ARG...]");
  auto store = OpenStore(ctx);
  ContainerRecord record = runner::FindContainer(*store, f.args[0]);
  runner::ExecSpec spec;
  spec.argv.assign(f.args.begin() + 1, f.args.end());
  for (const std::string& entry : f.env) AddEnv(spec.env, entry);
  spec.user = f.user;
  spec.workdir = f.workdir;
  spec.interactive = f.interactive;
  spec.tty = f.tty;
  spec.privileged = f.privileged;
  try {
    return runner::ExitCodeOf(runner::ExecInContainer(*store, record, spec));
  } catch (const runner::StartError& e) {
    std::fprintf(stderr, "Error: %s\n", e.what());
    return e.exit_code();
  }
}

// What `commit -c` accepts, as docker's.
bool CommitChangeAllowed(parser::Keyword keyword) {
  using parser::Keyword;
  switch (keyword) {
    case Keyword::kCmd:
    case Keyword::kEntrypoint:
    case Keyword::kEnv:
    case Keyword::kExpose:
    case Keyword::kLabel:
    case Keyword::kOnbuild:
    case Keyword::kUser:
    case Keyword::kVolume:
    case Keyword::kWorkdir:
    case Keyword::kStopsignal:
    case Keyword::kHealthcheck:
      return true;
    default:
      return false;
  }
}

void ApplyChange(const std::string& change, store::ImageConfig& config) {
  parser::Dockerfile parsed = parser::ParseDockerfile("FROM scratch\n" + change + "\n");
  if (parsed.stages.empty() || parsed.stages[0].instructions.size() != 1)
    throw Error("invalid change: " + change + " (give one Dockerfile instruction)");
  const parser::Instruction& ins = parsed.stages[0].instructions[0];
  if (!CommitChangeAllowed(ins.keyword))
    throw Error(std::string(parser::KeywordName(ins.keyword)) + " is not a valid change command");
  parser::VarMap vars;
  for (const std::string& entry : config.config.env) {
    size_t eq = entry.find('=');
    if (eq != std::string::npos) vars[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  builder::StageState state;
  builder::ApplyToConfig(ins, parser::ExpandArgs(ins, vars), config, state);
}

struct CommitFlags {
  std::string message;
  std::string author;
  std::vector<std::string> changes;
  std::string container;
  std::string name;
};

int RunCommit(const CommandContext& ctx, const CommitFlags& f) {
  auto store = OpenStore(ctx);
  store::GcLock gc_lock = LockStoreShared(*store);
  ContainerRecord record = runner::FindContainer(*store, f.container);
  store::ImageConfig config = runner::BaseImageConfig(*store, record);
  for (const std::string& change : f.changes) ApplyChange(change, config);
  store::Descriptor manifest = runner::CommitContainer(*store, record, config, {f.message, f.author, SourceDateEpoch()});
  store::Image image = store::ReadImage(*store, manifest);
  std::string ref = f.name.empty() ? store::UntaggedRefName(manifest.digest) : registry::CanonicalRefName(f.name);
  store->PutRef(ref, manifest);
  std::printf("%s\n", image.id().str().c_str());
  return 0;
}

}  // namespace

// ---- inspect ---------------------------------------------------------------

namespace {

ordered_json InspectPorts(const ContainerRecord& r) {
  ordered_json ports = ordered_json::object();
  for (const runner::PortMapping& p : r.ports) {
    std::string key = std::to_string(p.container_port) + "/" + p.protocol;
    if (!ports.contains(key)) ports[key] = ordered_json::array();
    ports[key].push_back(
        {{"HostIp", p.host_ip.empty() ? "0.0.0.0" : p.host_ip}, {"HostPort", std::to_string(p.host_port)}});
  }
  return ports;
}

ordered_json InspectMounts(const ContainerRecord& r) {
  ordered_json mounts = ordered_json::array();
  for (const runner::MountRecord& m : r.mounts) {
    ordered_json mount = {{"Type", m.type}};
    if (m.type == "volume") mount["Name"] = m.name;
    mount["Source"] = m.source;
    mount["Destination"] = m.destination;
    mount["RW"] = !m.read_only;
    mounts.push_back(mount);
  }
  return mounts;
}

// Docker's HostConfig: absent lists are null, Devices an empty list, Tmpfs
// only when there are some.
ordered_json InspectHostConfig(const ContainerRecord& r) {
  auto list_or_null = [](const std::vector<std::string>& list) {
    return list.empty() ? ordered_json(nullptr) : ordered_json(list);
  };
  const runner::ContainerSecurity& sec = r.security;
  ordered_json ulimits = nullptr;
  for (const runner::Ulimit& u : sec.ulimits) ulimits.push_back({{"Name", u.name}, {"Hard", u.hard}, {"Soft", u.soft}});
  ordered_json devices = ordered_json::array();
  for (const runner::DeviceMapping& d : sec.devices)
    devices.push_back(
        {{"PathOnHost", d.host_path}, {"PathInContainer", d.container_path}, {"CgroupPermissions", d.permissions}});
  ordered_json host_config = {{"NetworkMode", r.network},
                              {"AutoRemove", r.auto_remove},
                              {"CapAdd", list_or_null(sec.cap_add)},
                              {"CapDrop", list_or_null(sec.cap_drop)},
                              {"GroupAdd", list_or_null(r.run.group_add)},
                              {"Privileged", sec.privileged},
                              {"ReadonlyRootfs", sec.read_only_rootfs},
                              {"SecurityOpt", list_or_null(runner::SecurityOptStrings(sec))}};
  if (!sec.tmpfs.empty()) {
    ordered_json tmpfs = ordered_json::object();
    for (const runner::TmpfsSpec& t : sec.tmpfs) tmpfs[t.target] = t.options;
    host_config["Tmpfs"] = tmpfs;
  }
  host_config["Memory"] = r.resources.memory_bytes;
  host_config["NanoCpus"] = static_cast<int64_t>(std::llround(r.resources.cpus * 1e9));
  host_config["PidsLimit"] = r.resources.pids_limit;
  host_config["Devices"] = devices;
  host_config["Ulimits"] = ulimits;
  host_config["MaskedPaths"] = list_or_null(runner::MaskedPathsOf(sec));
  host_config["ReadonlyPaths"] = list_or_null(runner::ReadonlyPathsOf(sec));
  return host_config;
}

}  // namespace

std::optional<ordered_json> InspectContainer(const store::Store& store, const std::string& name_or_id) {
  ContainerRecord r;
  try {
    r = runner::LiveState(store, runner::FindContainer(store, name_or_id));
  } catch (const Error&) {
    return std::nullopt;
  }
  bool running = r.status == ContainerStatus::kRunning;
  std::vector<std::string> args(r.run.argv.begin() + (r.run.argv.empty() ? 0 : 1), r.run.argv.end());
  return ordered_json{
      {"Id", r.id},
      {"Created", r.created},
      {"Path", r.run.argv.empty() ? "" : r.run.argv[0]},
      {"Args", args},
      {"State",
       {{"Status", runner::StatusName(r.status)},
        {"Running", running},
        {"Pid", running ? r.pid : 0},
        {"ExitCode", r.exit_code},
        {"Error", r.error},
        {"StartedAt", r.started_at},
        {"FinishedAt", r.finished_at}}},
      {"Image", r.image_id},
      {"Name", "/" + r.name},
      {"LogPath", runner::ContainerDir(store, r.id) + "/log"},
      {"HostConfig", InspectHostConfig(r)},
      {"GraphDriver",
       {{"Name", "overlay2"},
        {"Data",
         {{"UpperDir", runner::ContainerDir(store, r.id) + "/upper"},
          {"WorkDir", runner::ContainerDir(store, r.id) + "/work"}}}}},
      {"Mounts", InspectMounts(r)},
      {"Config",
       {{"Hostname", r.run.hostname.empty() ? r.id.substr(0, kShortId) : r.run.hostname},
        {"User", r.run.user},
        {"Tty", r.tty},
        {"OpenStdin", r.open_stdin},
        {"Env", r.run.env},
        {"Cmd", r.run.argv},
        {"Image", r.image},
        {"WorkingDir", r.run.workdir},
        {"StopSignal", r.stop_signal}}},
      {"NetworkSettings", {{"Ports", InspectPorts(r)}}},
  };
}

namespace {

// An option given once per value (-e A -e B), never swallowing the
// arguments after it.
void AddRepeated(CLI::App* cmd, const std::string& names, std::vector<std::string>& values, const std::string& help) {
  cmd->add_option(names, values, help)->allow_extra_args(false);
}

// bld run's sandbox options (runner/container_security.h).
void AddSecurityFlags(CLI::App* cmd, RunFlags& f) {
  AddRepeated(cmd, "--cap-add", f.cap_add, "Add Linux capabilities (NET_ADMIN, CAP_SYS_TIME, ALL)");
  AddRepeated(cmd, "--cap-drop", f.cap_drop, "Drop Linux capabilities (NET_RAW, ALL)");
  cmd->add_flag("--privileged", f.privileged,
                "Every capability, no seccomp filter, no masked paths, writable /sys, every host device");
  AddRepeated(cmd, "--security-opt", f.security_opts,
              "no-new-privileges, seccomp=unconfined|PROFILE.json, systempaths=unconfined");
  cmd->add_flag("--read-only", f.read_only, "Mount the container's root filesystem as read only");
  AddRepeated(cmd, "--tmpfs", f.tmpfs, "Mount a tmpfs: PATH[:OPTIONS] (default noexec,nosuid,nodev)");
  AddRepeated(cmd, "--ulimit", f.ulimits, "Ulimit: NAME=SOFT[:HARD] (nofile=1024:2048)");
  AddRepeated(cmd, "--group-add", f.group_add, "Add supplementary groups (names from the image, or gids)");
  AddRepeated(cmd, "--device", f.devices, "Add a host device: HOST[:CTR[:PERMS]] (PERMS of r, w, m)");
}

void AddRunCommand(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<RunFlags>();
  auto* cmd = app.add_subcommand("run", "Create and run a new container from an image");
  // -h is --hostname, as in docker.
  cmd->set_help_flag("--help", "Print this help message and exit");
  cmd->add_flag("-d,--detach", f->detach, "Run the container in the background and print its ID");
  cmd->add_flag("--rm", f->remove, "Remove the container (and its anonymous volumes) when it exits");
  cmd->add_flag("-i,--interactive", f->interactive, "Keep STDIN open and pass it to the container");
  cmd->add_flag("-t,--tty", f->tty, "Allocate a pseudo-TTY");
  cmd->add_option("--name", f->name, "Assign a name to the container");
  cmd->add_option("--platform", f->platform, "Platform to pick from a multi-platform image (os/arch[/variant])");
  AddRepeated(cmd, "-p,--publish", f->publish, "Publish a container's port to the host: [IP:]HOST:CTR[/tcp|/udp]");
  AddRepeated(cmd, "-e,--env", f->env, "Set environment variables (KEY=value, or KEY to pass bld's)");
  AddRepeated(cmd, "--env-file", f->env_files, "Read environment variables from a file");
  AddRepeated(cmd, "-v,--volume", f->volumes, "Mount a volume: /ctr, NAME:/ctr[:ro], /host:/ctr[:ro]");
  cmd->add_option("--net,--network", f->network, "Network: default, none, host or container:<name|id>");
  cmd->add_option("-w,--workdir", f->workdir, "Working directory inside the container");
  cmd->add_option("-u,--user", f->user, "Username or UID (format: <name|uid>[:<group|gid>])");
  cmd->add_option("--entrypoint", f->entrypoint, "Overwrite the default ENTRYPOINT of the image");
  cmd->add_option("-h,--hostname", f->hostname, "Container host name");
  cmd->add_option("-m,--memory", f->memory, "Memory limit (e.g. 512m, 1g)");
  cmd->add_option("--cpus", f->cpus, "Number of CPUs");
  cmd->add_option("--pids-limit", f->pids_limit, "Tune container pids limit");
  AddRepeated(cmd, "--insecure-registry", f->insecure, "Allow plain HTTP for this registry when pulling");
  AddSecurityFlags(cmd, *f);
  // Everything from IMAGE on belongs to the container's command, flags
  // included.
  cmd->prefix_command();
  cmd->callback([&ctx, f, cmd] {
    f->args = cmd->remaining();
    if (!CheckLeadingFlag("run", f->args, ctx)) return;
    RunCommand(ctx, [&ctx, f] {
      // bld's own failures exit 125, apart from the command's exit codes.
      try {
        return RunRun(ctx, *f);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "Error: %s\n", e.what());
        return exit_code::kSetupFailed;
      }
    });
  });
}

void AddMonitorCommand(CLI::App& app, CommandContext& ctx) {
  struct Flags {
    int lock_fd = -1;
    int status_fd = -1;
    std::string id;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("container-monitor", "");
  cmd->group("");  // internal: started by `bld run -d`
  cmd->add_option("--lock-fd", f->lock_fd)->required();
  cmd->add_option("--status-fd", f->status_fd)->required();
  cmd->add_option("id", f->id)->required();
  cmd->callback([&ctx, f] { ctx.exit_code = RunMonitor(ctx, f->lock_fd, f->status_fd, f->id); });
}

void AddPsCommand(CLI::App& app, CommandContext& ctx) {
  struct Flags {
    bool all = false, quiet = false, no_trunc = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("ps", "List containers");
  cmd->add_flag("-a,--all", f->all, "Show all containers (default shows just running)");
  cmd->add_flag("-q,--quiet", f->quiet, "Only display container IDs");
  cmd->add_flag("--no-trunc", f->no_trunc, "Don't truncate output");
  cmd->callback([&ctx, f] { RunCommand(ctx, [&ctx, f] { return RunPs(ctx, f->all, f->quiet, f->no_trunc); }); });
}

using ContainerAction = std::function<void(store::Store&, const ContainerRecord&)>;

// A command that acts on each container it names (stop, kill, rm): its own
// options (added by `add_options`), then the containers; `prepare` checks
// the options once and returns what to do to each container.
void AddForEachCommand(CLI::App& app, CommandContext& ctx, const std::string& name, const std::string& help,
                       const std::function<void(CLI::App*)>& add_options,
                       const std::function<ContainerAction()>& prepare) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(name, help);
  add_options(cmd);
  cmd->add_option("containers", *names, "Containers")->required();
  cmd->callback([&ctx, names, prepare] { RunCommand(ctx, [&ctx, names, prepare] { return ForEach(ctx, *names, prepare()); }); });
}

void AddStopKillRmCommands(CLI::App& app, CommandContext& ctx) {
  auto timeout = std::make_shared<int>(kDefaultStopSeconds);
  AddForEachCommand(
      app, ctx, "stop", "Stop one or more running containers",
      [timeout](CLI::App* cmd) { cmd->add_option("-t,--time", *timeout, "Seconds to wait before killing the container"); },
      [timeout] {
        return [timeout](store::Store& store, const ContainerRecord& r) { runner::StopContainer(store, r, *timeout); };
      });
  auto signal = std::make_shared<std::string>("KILL");
  AddForEachCommand(
      app, ctx, "kill", "Kill one or more running containers",
      [signal](CLI::App* cmd) { cmd->add_option("-s,--signal", *signal, "Signal to send to the container"); },
      [signal]() -> ContainerAction {
        int number = runner::ParseSignal(*signal);
        return [number](store::Store& store, const ContainerRecord& r) { runner::KillContainer(store, r, number); };
      });
  auto force = std::make_shared<bool>(false);
  auto volumes = std::make_shared<bool>(false);
  AddForEachCommand(
      app, ctx, "rm", "Remove one or more containers",
      [force, volumes](CLI::App* cmd) {
        cmd->add_flag("-f,--force", *force, "Force the removal of a running container (uses SIGKILL)");
        cmd->add_flag("-v,--volumes", *volumes, "Remove anonymous volumes associated with the container");
      },
      [force, volumes] {
        return [force, volumes](store::Store& store, const ContainerRecord& r) {
          runner::RemoveContainer(store, r, *force, *volumes);
        };
      });
}

void AddLogsCommand(CLI::App& app, CommandContext& ctx) {
  struct Flags {
    bool follow = false;
    std::string tail = "all";
    std::string name;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("logs", "Fetch the logs of a container");
  cmd->add_flag("-f,--follow", f->follow, "Follow log output");
  cmd->add_option("-n,--tail", f->tail, "Number of lines to show from the end of the logs");
  cmd->add_option("container", f->name, "Container")->required();
  cmd->callback([&ctx, f] { RunCommand(ctx, [&ctx, f] { return RunLogs(ctx, f->name, f->follow, f->tail); }); });
}

void AddExecCommand(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<ExecFlags>();
  auto* cmd = app.add_subcommand("exec", "Execute a command in a running container");
  cmd->add_flag("-i,--interactive", f->interactive, "Keep STDIN open");
  cmd->add_flag("-t,--tty", f->tty, "Allocate a pseudo-TTY");
  AddRepeated(cmd, "-e,--env", f->env, "Set environment variables");
  cmd->add_option("-u,--user", f->user, "Username or UID (format: <name|uid>[:<group|gid>])");
  cmd->add_option("-w,--workdir", f->workdir, "Working directory inside the container");
  cmd->add_flag("--privileged", f->privileged, "Give the command every capability and no seccomp filter");
  cmd->prefix_command();
  cmd->callback([&ctx, f, cmd] {
    f->args = cmd->remaining();
    if (!CheckLeadingFlag("exec", f->args, ctx)) return;
    RunCommand(ctx, [&ctx, f] { return RunExec(ctx, *f); });
  });
}

void AddCommitCommand(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<CommitFlags>();
  auto* cmd = app.add_subcommand("commit", "Create a new image from a container's changes");
  cmd->add_option("-m,--message", f->message, "Commit message");
  cmd->add_option("-a,--author", f->author, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")");
  AddRepeated(cmd, "-c,--change", f->changes, "Apply Dockerfile instruction to the created image");
  cmd->add_option("container", f->container, "Container")->required();
  cmd->add_option("name", f->name, "REPOSITORY[:TAG]");
  cmd->callback([&ctx, f] { RunCommand(ctx, [&ctx, f] { return RunCommit(ctx, *f); }); });
}

}  // namespace

void AddContainerCommands(CLI::App& app, CommandContext& ctx) {
  AddRunCommand(app, ctx);
  AddMonitorCommand(app, ctx);
  AddPsCommand(app, ctx);
  AddStopKillRmCommands(app, ctx);
  AddLogsCommand(app, ctx);
  AddExecCommand(app, ctx);
  AddCommitCommand(app, ctx);
  AddVolumeCommands(app, ctx);
}

}  // namespace bld::cli
