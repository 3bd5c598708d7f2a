#include "runner/container_state.h"

#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "runner/container_lifecycle.h"
#include "runner/container_log.h"
#include "runner/step_runner.h"
#include "runner/volume_store.h"
#include "support/process.h"

namespace bld::testing {
namespace {

using runner::ContainerRecord;
using runner::ContainerStatus;

ContainerRecord SampleRecord(const std::string& name) {
  ContainerRecord r;
  r.id = runner::NewContainerId();
  r.name = name;
  r.image = "busybox";
  r.image_id = "sha256:" + std::string(64, 'a');
  r.image_manifest = "sha256:" + std::string(64, 'b');
  r.created = "2026-01-01T00:00:00Z";
  r.lowerdirs = {"/x/snapshots/1"};
  r.run.argv = {"sh", "-c", "true"};
  r.run.env = {"A=1"};
  r.network = "container:" + std::string(64, 'c');
  r.run.network = runner::NetworkMode::kJoin;
  r.ports = {{"127.0.0.1", 8080, 80, "tcp"}};
  r.mounts = {{"volume", "v", "/x/volumes/v/_data", "/data", true, false}};
  r.resources = {1 << 20, 1.5, 10};
  r.status = ContainerStatus::kRunning;
  r.pid = 42;
  r.pid_start_time = 4242;
  r.exit_code = 3;
  return r;
}

TEST_CASE("a container record reads back as it was written") {
  ContainerRecord r = SampleRecord("one");
  ContainerRecord back = runner::ParseRecord(runner::SerializeRecord(r), r.id);
  CHECK(runner::SerializeRecord(back) == runner::SerializeRecord(r));
  CHECK(back.run.network == runner::NetworkMode::kJoin);
  CHECK(back.ports == r.ports);
  CHECK_THROWS_WITH(runner::ParseRecord("{}", "x"), Catch::Contains("record of container x is damaged"));
}

TEST_CASE("containers are found by ID, name or unique ID prefix, and names are unique") {
  TempDir dir;
  auto store = store::Store::Open(dir / "store");
  ContainerRecord a = SampleRecord("alpha");
  a.id = "ab" + a.id.substr(2);
  ContainerRecord b = SampleRecord("beta");
  b.id = "ac" + b.id.substr(2);
  runner::CreateRecord(*store, a);
  runner::CreateRecord(*store, b);
  CHECK(runner::FindContainer(*store, "alpha").id == a.id);
  CHECK(runner::FindContainer(*store, "/beta").id == b.id);
  CHECK(runner::FindContainer(*store, b.id.substr(0, 5)).id == b.id);
  CHECK_THROWS_WITH(runner::FindContainer(*store, "a"), Catch::Contains("multiple containers"));
  CHECK_THROWS_WITH(runner::FindContainer(*store, "gamma"), Catch::Contains("No such container: gamma"));
  ContainerRecord dup = SampleRecord("alpha");
  CHECK_THROWS_WITH(runner::CreateRecord(*store, dup), Catch::Contains("is already in use by container"));
  CHECK(runner::ListRecords(*store).size() == 2);
}

TEST_CASE("a running record is believed only while its monitor holds the directory lock") {
  TempDir dir;
  auto store = store::Store::Open(dir / "store");
  ContainerRecord r = SampleRecord("c");
  {
    runner::UniqueFd lock = runner::CreateContainerDir(*store, r.id);
    CHECK(runner::MonitorAlive(*store, r.id));
    CHECK(runner::LiveState(*store, r).status == ContainerStatus::kRunning);
  }
  CHECK_FALSE(runner::MonitorAlive(*store, r.id));
  ContainerRecord live = runner::LiveState(*store, r);
  CHECK(live.status == ContainerStatus::kExited);
  CHECK(live.exit_code == 137);
}

TEST_CASE("prune keeps the directories of recorded containers and removes abandoned ones") {
  TempDir dir;
  auto store = store::Store::Open(dir / "store");
  ContainerRecord r = SampleRecord("kept");
  runner::CreateContainerDir(*store, r.id);  // the lock goes at once
  runner::CreateRecord(*store, r);
  std::string abandoned = store->containers_dir() + "/" + runner::NewContainerId();
  std::filesystem::create_directories(abandoned);
  CHECK(runner::RemoveAbandonedRunnerDirs(*store) == std::vector<std::string>{abandoned});
  CHECK(std::filesystem::exists(runner::ContainerDir(*store, r.id)));
}

TEST_CASE("the start time of a process is read from /proc and 0 for none") {
  CHECK(runner::ProcessStartTime(::getpid()) > 0);
  CHECK(runner::ProcessStartTime(::getpid()) == runner::ProcessStartTime(::getpid()));
  CHECK(runner::ProcessStartTime(0x3fffffff) == 0);
}

TEST_CASE("signals are named as docker names them") {
  CHECK(runner::ParseSignal("SIGTERM") == SIGTERM);
  CHECK(runner::ParseSignal("kill") == SIGKILL);
  CHECK(runner::ParseSignal("10") == 10);
  CHECK_THROWS_WITH(runner::ParseSignal("SIGNOPE"), Catch::Contains("Invalid signal"));
}

TEST_CASE("the log keeps lines per stream in order and tails by line") {
  TempDir dir;
  std::string path = dir / "log";
  {
    runner::LogWriter log(path);
    log.Append(runner::LogStream::kStdout, "a\nb");
    log.Append(runner::LogStream::kStderr, "err\n");
    log.Append(runner::LogStream::kStdout, "c\nunfinished");
  }
  std::string all;
  runner::ReadLog(path, 0, -1, [&](const runner::LogEntry& e) {
    all += (e.stream == runner::LogStream::kStderr ? "2:" : "1:") + e.text;
  });
  CHECK(all == "1:a\n2:err\n1:bc\n1:unfinished");
  std::string tail;
  runner::ReadLog(path, 0, 2, [&](const runner::LogEntry& e) { tail += e.text; });
  CHECK(tail == "bc\nunfinished");
}

TEST_CASE("volumes are created once, listed, and removed only when unused") {
  TempDir dir;
  auto store = store::Store::Open(dir / "store");
  runner::VolumeRecord v = runner::CreateVolume(*store, "data");
  CHECK(v.mountpoint == store->volumes_dir() + "/data/_data");
  CHECK(std::filesystem::is_directory(v.mountpoint));
  CHECK(runner::CreateVolume(*store, "data").created == v.created);
  runner::VolumeRecord anonymous = runner::CreateVolume(*store, "", true);
  CHECK(anonymous.name.size() == 64);
  CHECK(anonymous.anonymous);
  CHECK(runner::ListVolumes(*store).size() == 2);
  CHECK_THROWS_WITH(runner::CreateVolume(*store, "../x"), Catch::Contains("invalid characters"));
  ContainerRecord user = SampleRecord("user");
  user.mounts = {{"volume", "data", v.mountpoint, "/d", false, false}};
  runner::CreateRecord(*store, user);
  CHECK_THROWS_WITH(runner::RemoveVolume(*store, "data"), Catch::Contains("volume is in use"));
  runner::DeleteRecord(*store, user.id);
  runner::RemoveVolume(*store, "data");
  CHECK_FALSE(std::filesystem::exists(store->volumes_dir() + "/data"));
  CHECK_THROWS_WITH(runner::RemoveVolume(*store, "data"), Catch::Contains("no such volume"));
}

}  // namespace
}  // namespace bld::testing
