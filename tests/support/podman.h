// podman as the tests run it here: its configuration and storage in a
// directory of the test, never the machine's, with the settings
// /work/shared/PEERS.md says it needs on these machines (runc, cgroupfs,
// file events, ulimits runc may set).
#pragma once

#include <map>
#include <string>

#include "support/process.h"

namespace bld::testing {

// Writes containers.conf and storage.conf into `dir` and returns the
// environment that points podman at them.
std::map<std::string, std::string> PodmanEnv(const TempDir& dir);

}  // namespace bld::testing
