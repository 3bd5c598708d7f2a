// `bld commit`: a container's changes as a new image.
//
// The new image is the container's image plus one layer made from the
// container's upper dir alone (upper_dir_layer.h), so nothing of the init
// layer (/etc/hosts, /etc/resolv.conf, /etc/hostname, the /proc and /dev
// mount points) and nothing inside a volume or bind mount reaches it: those
// were written to the bind sources, never to the upper dir. A volume's mount
// point that the container created shows up as the empty directory it is in
// the upper dir, as with Docker. A container that changed nothing adds a
// history entry but no layer.
//
// A running container is committed as it is at that moment (bld does not
// pause it, as `docker commit --pause=false`).
//
// Thread safety: may run beside other bld processes on one store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "runner/container_state.h"
#include "store/oci.h"
#include "store/store.h"

namespace bld::runner {

struct CommitOptions {
  std::string message;  // the history entry's comment
  std::string author;
  // SOURCE_DATE_EPOCH: the image's and history's time, and the clamp of the
  // layer's entry times, instead of now.
  std::optional<int64_t> source_date_epoch;
};

// The container's base image, as the store holds it.
store::ImageConfig BaseImageConfig(const store::Store& store, const ContainerRecord& record);

// Writes the image whose config is `config` (the base image's, with the
// caller's changes) plus the container's layer and a history entry, and
// returns its manifest's descriptor; refs are the caller's.
store::Descriptor CommitContainer(store::Store& store, const ContainerRecord& record, store::ImageConfig config,
                                  const CommitOptions& options);

}  // namespace bld::runner
