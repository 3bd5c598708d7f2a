#include "runner/volume_store.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runner/container_state.h"
#include "runner/system_call.h"
#include "store/timestamp.h"

namespace bld::runner {

namespace {

constexpr mode_t kVolumeDirMode = 0755;

bool ValidName(const std::string& name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

std::string Serialize(const VolumeRecord& v) {
  return nlohmann::json{
      {"Name", v.name}, {"Mountpoint", v.mountpoint}, {"CreatedAt", v.created}, {"Anonymous", v.anonymous}}
      .dump();
}

VolumeRecord Parse(std::string_view text, std::string_view name) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    return {j.at("Name").get<std::string>(), j.at("Mountpoint").get<std::string>(),
            j.at("CreatedAt").get<std::string>(), j.at("Anonymous").get<bool>()};
  } catch (const nlohmann::json::exception& e) {
    throw Error("runner: the record of volume " + std::string(name) + " is damaged: " + e.what());
  }
}

void MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), kVolumeDirMode) != 0 && errno != EEXIST) throw RunnerSysError("create directory " + path);
}

}  // namespace

VolumeRecord CreateVolume(store::Store& store, const std::string& name, bool anonymous) {
  VolumeRecord volume;
  volume.name = name.empty() ? NewContainerId() : name;
  if (!ValidName(volume.name))
    throw Error("create " + volume.name + ": \"" + volume.name +
                "\" includes invalid characters for a local volume name, only "
                "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed");
  if (std::optional<VolumeRecord> existing = GetVolume(store, volume.name)) return *existing;
  volume.anonymous = anonymous && name.empty();
  volume.created = store::FormatTimestamp(std::chrono::system_clock::now());
  std::string dir = store.volumes_dir() + "/" + volume.name;
  volume.mountpoint = dir + "/_data";
  // The directory first, then the record: a crash leaves a directory that
  // no record names, never a record without its directory.
  MakeDir(dir);
  MakeDir(volume.mountpoint);
  std::string value = Serialize(volume);
  return store.meta().Write([&](store::WriteTxn& txn) {
    if (std::optional<std::string> raced = txn.Get(store::Table::kVolumes, volume.name))
      return Parse(*raced, volume.name);
    txn.Put(store::Table::kVolumes, volume.name, value);
    return volume;
  });
}

std::optional<VolumeRecord> GetVolume(const store::Store& store, const std::string& name) {
  std::optional<std::string> value = store.meta().Get(store::Table::kVolumes, name);
  if (!value) return std::nullopt;
  return Parse(*value, name);
}

std::vector<VolumeRecord> ListVolumes(const store::Store& store) {
  std::vector<VolumeRecord> volumes;
  for (const auto& [name, value] : store.meta().List(store::Table::kVolumes)) volumes.push_back(Parse(value, name));
  return volumes;
}

void RemoveVolume(store::Store& store, const std::string& name) {
  if (!GetVolume(store, name)) throw Error("get " + name + ": no such volume");
  for (const ContainerRecord& container : ListRecords(store))
    for (const MountRecord& mount : container.mounts)
      if (mount.type == "volume" && mount.name == name)
        throw Error("remove " + name + ": volume is in use - [" + container.id + "]");
  store.meta().Write([&](store::WriteTxn& txn) { txn.Del(store::Table::kVolumes, name); });
  std::error_code ec;
  std::filesystem::remove_all(store.volumes_dir() + "/" + name, ec);
  if (ec) throw Error("remove volume " + name + ": " + ec.message());
}

}  // namespace bld::runner
