// Unpacks an image layer into a directory, treating the layer as hostile.
//
// Layers come from registries and tarballs that anyone can write, so the one
// guarantee that matters is: nothing is ever created, changed or removed
// outside the target directory, whatever the tar holds. Every path is
// resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_XDEV) from a descriptor of the target, so the kernel follows
// symlinks the way a process chrooted into the target would: absolute targets
// and ".." stop at the target. The last component of an entry is never
// followed: it is removed and created anew (O_EXCL), so writing a file never
// writes through a symlink or into another hard link of an existing file.
// That is Docker's model too (it unpacks in a chroot), without needing one.
//
// Every entry first passes the layer rules of layer_reader.h (no name or
// link climbing above the root, nothing through a symlink or file the layer
// made, hard links only to earlier entries, ...): a layer `bld load` or
// `bld import` accepted is never refused here for its names. What is left is
// what depends on the target (each a test in tests/store/hostile_tar_test.cc):
//  - a symlink already in the target (from a lower layer, in plain mode) is
//    followed only inside the target: absolute targets and ".." stop at it;
//    a dangling one or a loop fails the entry;
//  - xattrs that would steer overlayfs (trusted.overlay.*, user.overlay.*):
//    ignored with a warning;
//  - device nodes without root: skipped with a warning (fifos are created,
//    they need no privilege). Owners and xattrs that the process may not set
//    are warnings too, as in rootless Docker.
// There is no size limit (layers can be big) and no entry count limit; the
// disk is the limit. On an error the target is left partly written: unpack
// into a fresh directory and discard it on failure.
//
// Names are bytes: a name that is not UTF-8 is created as it is, whatever
// the process locale (the applying thread reads names under C.UTF-8).
//
// Thread-safety: ApplyLayer keeps no state between calls; concurrent calls
// must use different targets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/compression.h"
#include "store/digest.h"

namespace bld::store {

enum class ApplyMode {
  // One directory holds the whole filesystem, layer after layer: whiteouts
  // delete, opaque markers empty the directory of what earlier layers put
  // there.
  kPlain,
  // Each layer gets its own directory, to be an overlayfs lowerdir: whiteouts
  // become character devices 0/0 and opaque directories get the xattr
  // trusted.overlay.opaque=y, which is how overlayfs spells them. Needs root.
  kOverlay,
};

struct ApplyOptions {
  ApplyMode mode = ApplyMode::kPlain;
};

struct ApplyResult {
  // sha256 of the uncompressed stream as read, to check against the image
  // config's rootfs.diff_ids.
  Digest diff_id;
  uint64_t uncompressed_size = 0;
  Compression compression = Compression::kNone;  // as detected
  // What was not applied and why, one line per kind:
  // `skipped 2 device nodes (first "dev/null"): creating device nodes needs root`.
  std::vector<std::string> warnings;
};

// Reads a layer (plain tar, gzip or zstd, detected from its first bytes; bzip2
// and xz too, as Docker accepts them) from `layer` and applies it to the
// directory `target`, which must exist. Throws bld::Error naming the entry
// and the reason when the layer is refused or a write fails.
ApplyResult ApplyLayer(const ByteSource& layer, const std::string& target, const ApplyOptions& options = {});

}  // namespace bld::store
