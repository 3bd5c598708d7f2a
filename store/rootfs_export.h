// An image's filesystem as plain files or as one tar: what `bld build -o
// type=local` and `-o type=tar` export (builder/build_output.h).
//
// The layers are applied in order into one directory, as a container's root
// would show them: whiteouts delete what lower layers put there, opaque
// directories hide their lower content, and ownership, modes, times,
// symlinks, hard links, device nodes and xattrs are kept as far as the
// process may set them (store/layer_applier.h, ApplyMode::kPlain: the layer
// rules hold here too, so nothing lands outside the directory). Each layer
// is checked against the diffID its config lists. An image FROM scratch
// gives just the files its steps made.
//
// The tar form applies into a scratch directory first and writes that tree
// with the layer writer's rules (store/layer_writer.h: PAX, sorted, numeric
// owners, hard links, xattrs), uncompressed; the scratch directory is
// removed afterwards, and needs as much disk as the image unpacked.
//
// Thread-safety: pure functions over a Store; concurrent calls must use
// different directories.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/compression.h"
#include "store/oci.h"
#include "store/store.h"

namespace bld::store {

// Applies the layers of the image `image` (a manifest descriptor) into
// `dir`, created if missing. What is already in `dir` stays unless a layer
// replaces or deletes it. Returns what could not be applied (the applier's
// warnings, e.g. device nodes without root); throws bld::Error naming the
// layer and what failed, leaving `dir` partly written.
std::vector<std::string> ExportRootfs(const Store& store, const Descriptor& image, const std::string& dir);

// The same filesystem as one uncompressed tar stream into `sink`, through a
// directory made (and removed) under `scratch_dir`. File times are clamped
// to `source_date_epoch` when one is given. Returns the warnings as above.
std::vector<std::string> WriteRootfsTar(const Store& store, const Descriptor& image, const std::string& scratch_dir,
                                        std::optional<int64_t> source_date_epoch, const ByteSink& sink);

}  // namespace bld::store
