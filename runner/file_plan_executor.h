// Carrying out a FilePlan (file_plan.h) inside a file step's container,
// after it has chrooted into the image's root: the destinations resolve as
// the image sees them and can never reach the host; context sources are
// opened beneath the context directory with RESOLVE_BENEATH and no
// symlinks (the walk that planned them resolved every symlink, so one
// found now was swapped in since and must not be followed out); COPY
// --from sources are opened inside the source image's root with
// RESOLVE_IN_ROOT; ADD's archives are unpacked refusing `..`, absolute
// names and writes through symlinks.
//
// Thread safety: call only in the file step's own single-threaded process
// (it changes the working directory).
#pragma once

#include "runner/file_plan.h"

namespace bld::runner {

// Applies `plan` to the current root. `source_root_fd`: an O_PATH descriptor
// of the COPY --from source image's root, or -1. Throws bld::Error naming
// what failed.
void CarryOutFilePlan(const FilePlan& plan, int source_root_fd);

}  // namespace bld::runner
