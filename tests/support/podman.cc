#include "support/podman.h"

namespace bld::testing {

std::map<std::string, std::string> PodmanEnv(const TempDir& dir) {
  WriteFile(dir / "containers.conf",
            "[engine]\nruntime=\"runc\"\ncgroup_manager=\"cgroupfs\"\nevents_logger=\"file\"\n"
            "[containers]\ndefault_ulimits=[\"nofile=20000:20000\",\"nproc=32768:32768\"]\n");
  WriteFile(dir / "storage.conf", "[storage]\ndriver=\"vfs\"\nrunroot=\"" + dir / "podman-run" + "\"\ngraphroot=\"" +
                                      dir / "podman-graph" + "\"\n");
  return {{"CONTAINERS_CONF", dir / "containers.conf"}, {"CONTAINERS_STORAGE_CONF", dir / "storage.conf"}};
}

}  // namespace bld::testing
