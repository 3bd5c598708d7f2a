#include "runner/container_state.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <nlohmann/json.hpp>

#include "store/exit_codes.h"

namespace bld::runner {

namespace {

using nlohmann::json;

constexpr mode_t kContainerDirMode = 0700;
// /proc/<pid>/stat is one line, well under this.
constexpr size_t kMaxStatSize = 4096;
// The start time is field 22; fields after the command's ")" start at 3.
constexpr int kStartTimeField = 22;
constexpr int kFirstFieldAfterComm = 3;

ContainerStatus ParseStatus(const std::string& name) {
  if (name == "running") return ContainerStatus::kRunning;
  if (name == "exited") return ContainerStatus::kExited;
  return ContainerStatus::kCreated;
}

UniqueFd OpenDir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd && errno != ENOENT) throw RunnerSysError("open " + path);
  return fd;
}

}  // namespace

std::string_view StatusName(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::kCreated:
      return "created";
    case ContainerStatus::kRunning:
      return "running";
    case ContainerStatus::kExited:
      return "exited";
  }
  return "created";
}

std::string SerializeRecord(const ContainerRecord& r) {
  json ports = json::array();
  for (const PortMapping& p : r.ports)
    ports.push_back({{"HostIp", p.host_ip},
                     {"HostPort", p.host_port},
                     {"ContainerPort", p.container_port},
                     {"Protocol", p.protocol}});
  json mounts = json::array();
  for (const MountRecord& m : r.mounts)
    mounts.push_back({{"Type", m.type},
                      {"Name", m.name},
                      {"Source", m.source},
                      {"Destination", m.destination},
                      {"ReadOnly", m.read_only},
                      {"Anonymous", m.anonymous}});
  json j = {
      {"Id", r.id},
      {"Name", r.name},
      {"Image", r.image},
      {"ImageId", r.image_id},
      {"ImageManifest", r.image_manifest},
      {"Created", r.created},
      {"Lowerdirs", r.lowerdirs},
      {"Args", r.run.argv},
      {"Env", r.run.env},
      {"User", r.run.user},
      {"GroupAdd", r.run.group_add},
      {"WorkingDir", r.run.workdir},
      {"Hostname", r.run.hostname},
      {"Network", r.network},
      {"StopSignal", r.stop_signal},
      {"Tty", r.tty},
      {"OpenStdin", r.open_stdin},
      {"AutoRemove", r.auto_remove},
      {"Ports", ports},
      {"Mounts", mounts},
      {"Memory", r.resources.memory_bytes},
      {"Cpus", r.resources.cpus},
      {"PidsLimit", r.resources.pids_limit},
      {"Security", SecurityToJson(r.security)},
      {"Cgroups", r.cgroups},
      {"Status", StatusName(r.status)},
      {"Pid", r.pid},
      {"PidStartTime", r.pid_start_time},
      {"MonitorPid", r.monitor_pid},
      {"ExitCode", r.exit_code},
      {"StartedAt", r.started_at},
      {"FinishedAt", r.finished_at},
      {"Error", r.error},
  };
  return j.dump();
}

ContainerRecord ParseRecord(std::string_view text, std::string_view id) {
  try {
    json j = json::parse(text);
    ContainerRecord r;
    r.id = j.at("Id").get<std::string>();
    r.name = j.at("Name").get<std::string>();
    r.image = j.at("Image").get<std::string>();
    r.image_id = j.at("ImageId").get<std::string>();
    r.image_manifest = j.at("ImageManifest").get<std::string>();
    r.created = j.at("Created").get<std::string>();
    r.lowerdirs = j.at("Lowerdirs").get<std::vector<std::string>>();
    r.run.argv = j.at("Args").get<std::vector<std::string>>();
    r.run.env = j.at("Env").get<std::vector<std::string>>();
    r.run.user = j.at("User").get<std::string>();
    // Records written before bld had these options have neither.
    if (j.contains("GroupAdd")) r.run.group_add = j.at("GroupAdd").get<std::vector<std::string>>();
    r.run.workdir = j.at("WorkingDir").get<std::string>();
    r.run.hostname = j.at("Hostname").get<std::string>();
    r.network = j.at("Network").get<std::string>();
    r.run.network = r.network == "host"                   ? NetworkMode::kHost
                    : r.network.starts_with("container:") ? NetworkMode::kJoin
                                                          : NetworkMode::kNone;
    r.stop_signal = j.at("StopSignal").get<std::string>();
    r.tty = j.at("Tty").get<bool>();
    r.open_stdin = j.at("OpenStdin").get<bool>();
    r.auto_remove = j.at("AutoRemove").get<bool>();
    for (const json& p : j.at("Ports"))
      r.ports.push_back({p.at("HostIp").get<std::string>(), p.at("HostPort").get<uint16_t>(),
                         p.at("ContainerPort").get<uint16_t>(), p.at("Protocol").get<std::string>()});
    for (const json& m : j.at("Mounts"))
      r.mounts.push_back({m.at("Type").get<std::string>(), m.at("Name").get<std::string>(),
                          m.at("Source").get<std::string>(), m.at("Destination").get<std::string>(),
                          m.at("ReadOnly").get<bool>(), m.at("Anonymous").get<bool>()});
    r.resources.memory_bytes = j.at("Memory").get<int64_t>();
    r.resources.cpus = j.at("Cpus").get<double>();
    r.resources.pids_limit = j.at("PidsLimit").get<int64_t>();
    if (j.contains("Security")) r.security = SecurityFromJson(j.at("Security"));
    r.cgroups = j.at("Cgroups").get<std::vector<std::string>>();
    r.status = ParseStatus(j.at("Status").get<std::string>());
    r.pid = j.at("Pid").get<pid_t>();
    r.pid_start_time = j.at("PidStartTime").get<uint64_t>();
    r.monitor_pid = j.at("MonitorPid").get<pid_t>();
    r.exit_code = j.at("ExitCode").get<int>();
    r.started_at = j.at("StartedAt").get<std::string>();
    r.finished_at = j.at("FinishedAt").get<std::string>();
    r.error = j.at("Error").get<std::string>();
    return r;
  } catch (const json::exception& e) {
    throw Error("runner: the record of container " + std::string(id) + " is damaged: " + e.what());
  }
}

std::string NewContainerId() {
  unsigned char raw[kContainerIdBytes];
  size_t filled = 0;
  while (filled < sizeof raw) {
    ssize_t n = ::getrandom(raw + filled, sizeof raw - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw RunnerSysError("getrandom");
    filled += static_cast<size_t>(n);
  }
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex += kHexDigits[c >> 4];
    hex += kHexDigits[c & 0xf];
  }
  return hex;
}

void CreateRecord(store::Store& store, const ContainerRecord& record) {
  std::string value = SerializeRecord(record);
  std::string conflict = store.meta().Write([&](store::WriteTxn& txn) {
    std::string holder;
    txn.Scan(store::Table::kContainers, "", [&](std::string_view key, std::string_view json) {
      if (holder.empty() && ParseRecord(json, key).name == record.name) holder = std::string(key);
    });
    if (holder.empty()) txn.Put(store::Table::kContainers, record.id, value);
    return holder;
  });
  if (!conflict.empty())
    throw Error("Conflict. The container name \"/" + record.name + "\" is already in use by container \"" + conflict +
                "\". You have to remove (or rename) that container to be able to reuse that name.");
}

void PutRecord(store::Store& store, const ContainerRecord& record) {
  std::string value = SerializeRecord(record);
  store.meta().Write([&](store::WriteTxn& txn) { txn.Put(store::Table::kContainers, record.id, value); });
}

std::optional<ContainerRecord> GetRecord(const store::Store& store, const std::string& id) {
  std::optional<std::string> value = store.meta().Get(store::Table::kContainers, id);
  if (!value) return std::nullopt;
  return ParseRecord(*value, id);
}

std::vector<ContainerRecord> ListRecords(const store::Store& store) {
  std::vector<ContainerRecord> records;
  for (const auto& [id, value] : store.meta().List(store::Table::kContainers)) records.push_back(ParseRecord(value, id));
  return records;
}

void DeleteRecord(store::Store& store, const std::string& id) {
  store.meta().Write([&](store::WriteTxn& txn) { txn.Del(store::Table::kContainers, id); });
}

ContainerRecord FindContainer(const store::Store& store, std::string_view name_or_id) {
  std::string wanted(name_or_id);
  if (wanted.starts_with('/')) wanted.erase(0, 1);
  std::vector<ContainerRecord> records = ListRecords(store);
  // Docker's order: a full ID, then a name, then an ID prefix.
  for (const ContainerRecord& r : records)
    if (r.id == wanted) return r;
  for (const ContainerRecord& r : records)
    if (r.name == wanted) return r;
  const ContainerRecord* match = nullptr;
  for (const ContainerRecord& r : records) {
    if (wanted.empty() || !r.id.starts_with(wanted)) continue;
    if (match) throw Error("multiple containers found with provided prefix: " + wanted);
    match = &r;
  }
  if (!match) throw Error("No such container: " + std::string(name_or_id));
  return *match;
}

std::string ContainerDir(const store::Store& store, const std::string& id) { return store.containers_dir() + "/" + id; }

UniqueFd CreateContainerDir(const store::Store& store, const std::string& id) {
  std::string path = ContainerDir(store, id);
  CheckSys(::mkdir(path.c_str(), kContainerDirMode), "create directory " + path);
  UniqueFd fd = OpenDir(path);
  if (!fd) throw RunnerSysError("open " + path);
  CheckSys(::flock(fd.get(), LOCK_EX | LOCK_NB), "lock " + path);
  return fd;
}

bool MonitorAlive(const store::Store& store, const std::string& id) {
  UniqueFd fd = OpenDir(ContainerDir(store, id));
  if (!fd) return false;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;
  if (errno != EWOULDBLOCK) throw RunnerSysError("probe the lock of container " + id);
  return true;
}

void WaitForMonitor(const store::Store& store, const std::string& id) {
  UniqueFd fd = OpenDir(ContainerDir(store, id));
  if (!fd) return;
  while (::flock(fd.get(), LOCK_SH) != 0) {
    if (errno != EINTR) throw RunnerSysError("wait for the monitor of container " + id);
  }
}

ContainerRecord LiveState(const store::Store& store, ContainerRecord record) {
  // A container that never started stays "created", as in docker.
  if (record.status != ContainerStatus::kRunning || MonitorAlive(store, record.id)) return record;
  // The monitor died without writing the end: its container was killed with
  // it by the parent-death signal.
  record.exit_code = exit_code::ForSignal(SIGKILL);
  record.status = ContainerStatus::kExited;
  record.pid = 0;
  return record;
}

uint64_t ProcessStartTime(pid_t pid) {
  std::string stat;
  try {
    if (!ReadRegularFile("/proc/" + std::to_string(pid) + "/stat", kMaxStatSize, stat)) return 0;
  } catch (const Error&) {
    return 0;  // the process went away while being read
  }
  // The command name may hold spaces and parentheses; fields follow the last ')'.
  size_t pos = stat.rfind(')');
  if (pos == std::string::npos) return 0;
  int field = kFirstFieldAfterComm;
  pos += 2;
  while (field < kStartTimeField && pos < stat.size()) {
    pos = stat.find(' ', pos);
    if (pos == std::string::npos) return 0;
    ++pos;
    ++field;
  }
  return std::strtoull(stat.c_str() + pos, nullptr, 10);
}

UniqueFd OpenContainerProcess(const ContainerRecord& record) {
  if (record.status != ContainerStatus::kRunning || record.pid <= 0) return {};
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, record.pid, 0)));
  if (!pidfd) return {};
  // Checked after opening: a pidfd keeps naming the process it was opened
  // for, so if the start time matches now, it is the container's.
  if (ProcessStartTime(record.pid) != record.pid_start_time) return {};
  return pidfd;
}

}  // namespace bld::runner
