#include "support/busybox.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "support/process.h"

namespace bld::testing {

namespace fs = std::filesystem;

void MakeBusyboxRootfs(const std::string& dir, const std::string& busybox) {
  const std::string host_busybox = "/bin/busybox";
  if (!fs::exists(host_busybox)) throw std::runtime_error("busybox-static is not installed (/bin/busybox missing)");
  for (const char* d : {"bin", "etc", "tmp", "root", "home/app", "proc", "sys", "dev"})
    fs::create_directories(dir + "/" + d);
  fs::permissions(dir + "/tmp", fs::perms::all | fs::perms::sticky_bit);
  fs::copy_file(busybox, dir + "/bin/busybox", fs::copy_options::overwrite_existing);
  chmod((dir + "/bin/busybox").c_str(), 0755);
  ProcessResult list = RunProcess({host_busybox, "--list"});
  std::istringstream applets(list.out);
  for (std::string name; std::getline(applets, name);) {
    if (name.empty() || name == "busybox") continue;
    std::string link = dir + "/bin/" + name;
    if (!fs::exists(fs::symlink_status(link))) fs::create_symlink("busybox", link);
  }
  WriteFile(dir + "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\n"
            "app:x:1000:1000:app:/home/app:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  WriteFile(dir + "/etc/group", "root:x:0:\napp:x:1000:\nextra:x:1001:app\nnogroup:x:65534:\n");
  if (chown((dir + "/home/app").c_str(), 1000, 1000) != 0 && geteuid() == 0)
    throw std::runtime_error("chown home/app failed");
}

void MakeBusyboxTar(const std::string& tar_path, const std::string& busybox) {
  TempDir root;
  MakeBusyboxRootfs(root.path(), busybox);
  ProcessResult r = RunProcess({"tar", "-C", root.path(), "--numeric-owner", "-cf", tar_path, "."});
  if (r.exit_code != 0) throw std::runtime_error("tar failed: " + r.err);
}

std::optional<std::string> ForeignBusybox(const std::string& architecture) {
  std::string path = "/usr/local/lib/bld-test/" + architecture + "/busybox";
  if (::access(path.c_str(), X_OK) != 0) return std::nullopt;
  return path;
}

}  // namespace bld::testing
