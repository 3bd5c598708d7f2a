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
// How hostile entries end, case by case (each is a test in
// tests/store/hostile_tar_test.cc):
//  - a name or hard-link target whose ".." climbs above the root: refused
//    (bld::Error: `layer entry "../etc/passwd" escapes the target directory`);
//  - an absolute name ("/etc/passwd") or hard-link target: relative to the
//    target, as Docker and tar do;
//  - a symlink pointing anywhere, absolute or up: created as it is (images
//    rely on absolute links such as /usr/bin/python3 -> python3.11); later
//    entries written through it land where it points *inside* the target;
//  - a hard link to a missing path, to a directory, or to itself through
//    symlinks: refused; a hard link to a symlink links the symlink itself;
//  - a whiteout for "", "." or "..": refused; an entry "." that is not a
//    directory: refused; names or paths over the kernel's limits (NAME_MAX,
//    PATH_MAX): refused with their length;
//  - a malformed or truncated archive: refused with libarchive's reason and
//    the last entry applied;
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
