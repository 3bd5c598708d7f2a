// Directories that belong to a live process: a container's directory under
// containers/, a layer being unpacked under snapshots/.
//
// A process that dies (kill -9, a crash, a power cut) cannot remove what it
// was working on, and `bld prune` must tell those leftovers from directories
// that another bld on the same store is still using. So each owner holds an
// flock(2) on its directory for as long as it uses it. The kernel drops the
// lock when the process dies, however it dies, so "unlocked" means
// "abandoned", whatever the directory's age: the rule the blob store applies
// to its ingest files.
//
// The race between creating a directory and locking it is closed the same
// way too: a prune may remove a directory in that instant, so after locking,
// the owner checks that the name still leads to the locked directory and
// starts again with a new name if not.
//
// Thread safety: a LockedDir belongs to one thread at a time.
// RemoveAbandonedDirs may run at any time, in any process.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runner/system_call.h"

namespace bld::runner {

class LockedDir {
 public:
  // Creates and locks `<parent>/<prefix><random hex>` (mode 0700), with
  // `random_bytes` bytes of randomness in the name.
  static LockedDir Create(const std::string& parent, std::string_view prefix, size_t random_bytes);

  LockedDir(LockedDir&&) noexcept = default;
  LockedDir& operator=(LockedDir&&) = delete;
  // Removes the directory with everything in it, unless it was renamed.
  ~LockedDir();

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  // A descriptor of the directory itself.
  int fd() const { return fd_.get(); }

  // Renames the directory to `<parent>/<new_name>` unless that name exists
  // (renameat2 RENAME_NOREPLACE: atomic, so of two processes racing to the
  // same name exactly one wins). Returns false, changing nothing, when the
  // name was taken. After a successful rename the directory is no longer this
  // object's to remove, and it is unlocked.
  bool RenameNoReplace(const std::string& new_name);

 private:
  LockedDir(std::string parent, std::string name, UniqueFd fd);

  std::string parent_;
  std::string name_;
  std::string path_;
  UniqueFd fd_;
};

// Removes the directories in `parent` whose names start with `prefix` and
// that no live process holds, with everything in them; returns their paths.
std::vector<std::string> RemoveAbandonedDirs(const std::string& parent, std::string_view prefix);

}  // namespace bld::runner
