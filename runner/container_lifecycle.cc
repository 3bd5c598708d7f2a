#include "runner/container_lifecycle.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "runner/cgroups.h"
#include "runner/device_cgroup.h"
#include "runner/volume_store.h"

namespace bld::runner {

namespace {

constexpr int kMillisPerSecond = 1000;

void SendSignal(int pidfd, int signal, const std::string& id) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) != 0 && errno != ESRCH)
    throw RunnerSysError("send signal " + std::to_string(signal) + " to container " + id);
}

}  // namespace

int ParseSignal(std::string_view name) {
  std::string text(name);
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    int number = std::atoi(text.c_str());
    if (number > 0 && number < NSIG) return number;
    throw Error("Invalid signal: " + text);
  }
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  if (text.starts_with("SIG")) text.erase(0, 3);
  for (int signal = 1; signal < NSIG; ++signal) {
    const char* abbrev = ::sigabbrev_np(signal);
    if (abbrev && text == abbrev) return signal;
  }
  throw Error("Invalid signal: " + std::string(name));
}

void KillContainer(const store::Store& store, const ContainerRecord& record, int signal) {
  ContainerRecord live = LiveState(store, record);
  UniqueFd process = OpenContainerProcess(live);
  if (!process) throw Error("Cannot kill container: " + record.id + ": Container " + record.id + " is not running");
  SendSignal(process.get(), signal, record.id);
}

void StopContainer(const store::Store& store, const ContainerRecord& record, int timeout_seconds) {
  ContainerRecord live = LiveState(store, record);
  UniqueFd process = OpenContainerProcess(live);
  if (process) {
    int signal = record.stop_signal.empty() ? SIGTERM : ParseSignal(record.stop_signal);
    SendSignal(process.get(), signal, record.id);
    // A pidfd becomes readable when its process ends, child or not.
    pollfd fd{process.get(), POLLIN, 0};
    int rc;
    while ((rc = ::poll(&fd, 1, std::max(timeout_seconds, 0) * kMillisPerSecond)) < 0 && errno == EINTR) {
    }
    if (rc == 0) SendSignal(process.get(), SIGKILL, record.id);
  }
  WaitForMonitor(store, record.id);
}

void RemoveContainer(store::Store& store, const ContainerRecord& record, bool force, bool volumes) {
  ContainerRecord live = LiveState(store, record);
  if (live.status == ContainerStatus::kRunning) {
    if (!force)
      throw Error("cannot remove container \"" + record.name +
                  "\": container is running: stop the container "
                  "before removing or force remove");
    if (UniqueFd process = OpenContainerProcess(live)) SendSignal(process.get(), SIGKILL, record.id);
  }
  // The monitor records the end, or removes everything itself with --rm.
  WaitForMonitor(store, record.id);
  // A monitor killed with SIGKILL left its container's cgroups behind; its
  // processes are gone with PID 1, so they are empty now.
  RemoveCgroups(record.cgroups);
  RemoveDeviceCgroup(record.id);
  std::error_code ec;
  std::filesystem::remove_all(ContainerDir(store, record.id), ec);
  if (ec) throw Error("remove container " + record.id + ": " + ec.message());
  DeleteRecord(store, record.id);
  if (!volumes) return;
  for (const MountRecord& mount : record.mounts)
    if (mount.type == "volume" && mount.anonymous && GetVolume(store, mount.name)) RemoveVolume(store, mount.name);
}

}  // namespace bld::runner
