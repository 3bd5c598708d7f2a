// `bld build -o SPEC`: the outputs of builder/build_output.h, checked before
// the build starts (a bad spec or name never costs a build) and carried out
// once it has succeeded:
//
//   local   the image's filesystem written into DEST (store/rootfs_export.h)
//   tar     that filesystem as one tar, into a file or onto stdout
//   oci     an OCI layout, as a tar or (tar=false) a directory, and
//   docker  a docker-archive, both written by store/image_archive.h as `bld
//           save` writes them, the image named by name= or else the -t names
//   image   name= is one more -t name; push=true pushes the output's names
//
// Files are written under a temporary name and renamed when complete
// (cli/output_file.h). At most one output may use stdout, and not when it
// is a terminal; the image ID is then not printed on stdout. Ctrl-C during
// an export ends bld at once, as it ends `bld save`: a file output never
// appears under its name half written (its temporary file stays beside it),
// and a tar's scratch directory may stay in the store's tmp/.
//
// Thread-safety: one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_output.h"
#include "store/store.h"

namespace bld::cli {

// Parses every -o value and checks the names they give and their use of
// stdout; throws bld::Error naming the flag and what is wrong.
std::vector<builder::BuildOutput> ParseOutputs(const std::vector<std::string>& specs);

// Whether one of `outputs` writes to stdout.
bool WritesStdout(const std::vector<builder::BuildOutput>& outputs);

// The names type=image outputs give the image, besides -t.
std::vector<std::string> ImageOutputNames(const std::vector<builder::BuildOutput>& outputs);

// The names type=image,push=true outputs push: each output's name=, or the
// -t names `tags` when it has none. Throws when one of them has neither.
std::vector<std::string> OutputPushNames(const std::vector<builder::BuildOutput>& outputs,
                                         const std::vector<std::string>& tags);

// Writes the local, tar, oci and docker outputs of the built image
// `manifest`; `tags` are the -t names. Progress and warnings go to stderr
// unless `quiet`.
void WriteOutputs(const store::Store& store, const std::vector<builder::BuildOutput>& outputs,
                  const store::Descriptor& manifest, const std::vector<std::string>& tags,
                  std::optional<int64_t> source_date_epoch, bool quiet);

}  // namespace bld::cli
