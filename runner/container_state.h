// What bld remembers about a `bld run` container, and whether it still runs.
//
// A container outlives the bld process that started it, so its record lives
// in the store: table kContainers of LMDB, key the 64-hex container ID,
// value the JSON of ContainerRecord (docs/containers.md). The record says
// how the container was made (image, command, ports, volumes, limits) and
// what its monitor last wrote about it (running with PID 1 = n, exited with
// code c).
//
// A record alone cannot tell the truth about a container whose monitor was
// killed with SIGKILL: it still says "running". The monitor therefore holds
// an flock(2) on the container's directory for its whole life (the lock
// `bld run` took when it made the directory, passed down to the monitor), and
// LiveState() believes "running" only while that lock is held. The kernel
// drops the lock when the monitor dies, however it dies, and the container's
// PID 1 dies with its monitor (its parent-death signal), so an unlocked
// "running" container is one that was killed: it is shown as exited with 137
// (SIGKILL), which is what happened to it.
//
// The directory of a container with a record is never removed by `bld prune`
// (step_runner.h: RemoveAbandonedRunnerDirs), only by `bld rm`.
//
// Thread safety: the functions may be called from any thread and process;
// each reads or writes the record in one short LMDB transaction.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/container.h"
#include "runner/system_call.h"
#include "store/store.h"

namespace bld::runner {

// `-p [IP:]HOST:CTR[/tcp|/udp]`.
struct PortMapping {
  std::string host_ip;  // empty: every address
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string protocol = "tcp";

  friend bool operator==(const PortMapping&, const PortMapping&) = default;
};

// A mount given with -v or made for an image VOLUME.
struct MountRecord {
  std::string type;         // "volume" or "bind"
  std::string name;         // the volume's name (volumes only)
  std::string source;       // host path: the volume's _data or the bound path
  std::string destination;  // path in the container
  bool read_only = false;
  bool anonymous = false;  // removed with the container by `rm -v` / --rm
};

// --memory, --cpus, --pids-limit; 0: no limit.
struct Resources {
  int64_t memory_bytes = 0;
  double cpus = 0;
  int64_t pids_limit = 0;

  bool any() const { return memory_bytes != 0 || cpus != 0 || pids_limit != 0; }
};

enum class ContainerStatus { kCreated, kRunning, kExited };
std::string_view StatusName(ContainerStatus status);

struct ContainerRecord {
  std::string id;
  std::string name;
  std::string image;           // as the user named it
  std::string image_id;        // the config digest
  std::string image_manifest;  // the manifest digest, what a commit builds on
  std::string created;         // RFC 3339
  std::vector<std::string> lowerdirs;
  RunConfig run;
  std::string network;  // "default", "none", "host" or "container:<id>"
  std::string stop_signal;
  bool tty = false;
  bool open_stdin = false;
  bool auto_remove = false;
  std::vector<PortMapping> ports;
  std::vector<MountRecord> mounts;
  Resources resources;
  ContainerSecurity security;
  std::vector<std::string> cgroups;  // directories made for the limits

  // What the monitor wrote last.
  ContainerStatus status = ContainerStatus::kCreated;
  pid_t pid = 0;                // PID 1, as the host sees it
  uint64_t pid_start_time = 0;  // of `pid`, to refuse a reused PID
  pid_t monitor_pid = 0;
  int exit_code = 0;
  std::string started_at;
  std::string finished_at;
  std::string error;  // why it could not start
};

std::string SerializeRecord(const ContainerRecord& record);
ContainerRecord ParseRecord(std::string_view json, std::string_view id);

// 64 random hex digits.
std::string NewContainerId();

// Writes a new record; throws, writing nothing, if its name is taken
// ("Conflict. The container name "/x" is already in use by container <id>").
void CreateRecord(store::Store& store, const ContainerRecord& record);
void PutRecord(store::Store& store, const ContainerRecord& record);
std::optional<ContainerRecord> GetRecord(const store::Store& store, const std::string& id);
std::vector<ContainerRecord> ListRecords(const store::Store& store);
void DeleteRecord(store::Store& store, const std::string& id);

// The container named `name_or_id` (a name, an ID or an unambiguous prefix of
// one); throws "No such container: x".
ContainerRecord FindContainer(const store::Store& store, std::string_view name_or_id);

// The container's directory, <root>/containers/<id>.
std::string ContainerDir(const store::Store& store, const std::string& id);

// Creates the container's directory and returns a descriptor of it holding
// its lock (see above); pass it down to the monitor.
UniqueFd CreateContainerDir(const store::Store& store, const std::string& id);

// True while the container's monitor lives (holds the directory's lock).
bool MonitorAlive(const store::Store& store, const std::string& id);

// Waits until the monitor is gone.
void WaitForMonitor(const store::Store& store, const std::string& id);

// The record with its status made true: "running" only while the monitor
// lives (see above).
ContainerRecord LiveState(const store::Store& store, ContainerRecord record);

// The start time of process `pid` (field 22 of /proc/<pid>/stat), 0 if there
// is no such process.
uint64_t ProcessStartTime(pid_t pid);

// A pidfd of the container's PID 1 if it still runs (same PID, same start
// time); an empty descriptor otherwise.
UniqueFd OpenContainerProcess(const ContainerRecord& record);

}  // namespace bld::runner
