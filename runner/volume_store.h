// Volumes: directories under <root>/volumes/<name>/_data that outlive the
// containers using them (`-v NAME:/path`, `-v /path`, an image's VOLUME),
// with their records in table kVolumes of LMDB (key: the name; value: JSON
// of VolumeRecord, docs/containers.md).
//
// An anonymous volume is named by 64 random hex digits, as Docker names it,
// and is removed with its container by `bld rm -v` and `bld run --rm`; a
// named one stays until `bld volume rm`. A volume in use by a container
// (any record that mounts it, running or not) cannot be removed, as in
// Docker.
//
// Thread safety: the functions may be called from any thread and process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace bld::runner {

struct VolumeRecord {
  std::string name;
  std::string mountpoint;  // <root>/volumes/<name>/_data
  std::string created;     // RFC 3339
  bool anonymous = false;
};

// Creates the volume `name` (a new anonymous one when empty) or returns the
// existing one. A name is [a-zA-Z0-9][a-zA-Z0-9_.-]*, as Docker's.
VolumeRecord CreateVolume(store::Store& store, const std::string& name, bool anonymous = false);
std::optional<VolumeRecord> GetVolume(const store::Store& store, const std::string& name);
std::vector<VolumeRecord> ListVolumes(const store::Store& store);
// Removes the volume and its data; throws if it does not exist or a
// container uses it.
void RemoveVolume(store::Store& store, const std::string& name);

}  // namespace bld::runner
