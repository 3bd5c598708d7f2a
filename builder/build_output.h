// `bld build -o SPEC` / `--output SPEC`: where a build's result goes besides
// the store, in BuildKit's syntax (comma-separated key=value pairs):
//
//   type=local,dest=DIR            the filesystem of the image, as files in DIR
//   type=tar,dest=FILE|-           the same filesystem as one tar stream
//   type=oci,dest=FILE|-[,tar=false][,name=REF]
//                                  an OCI image layout, as a tar (or with
//                                  tar=false a directory DIR)
//   type=docker,dest=FILE|-[,name=REF]
//                                  a docker-archive, what `docker load` reads
//   type=image[,name=REF][,push=true]
//                                  the image in the store under REF (as -t),
//                                  pushed when push=true
//   DIR                            short for type=local,dest=DIR
//   -                              short for type=tar,dest=-
//
// Never accepted and ignored: an unknown type, a key the type does not take,
// a key given twice, a value outside the set a key takes, a missing dest:
// each is an error that quotes the spec and names the bad key or value.
// BuildKit's keys bld does not implement (compression=, oci-mediatypes=,
// type=registry, ...) are refused the same way.
//
// Parsing is pure (no I/O, no name checks: registry/ checks a name= value);
// cli/ carries the outputs out once the build is done.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace bld::builder {

enum class OutputType { kLocal, kTar, kOci, kDocker, kImage };

// The `type=` word of each type ("local", "tar", ...).
std::string_view OutputTypeName(OutputType type);

struct BuildOutput {
  OutputType type = OutputType::kLocal;
  std::string dest;  // a path, or "-" for stdout (tar, oci, docker); empty for image
  std::string name;  // name=: the image's name (oci, docker, image); empty: the -t names
  bool push = false; // push=true (image)
  bool tar = true;   // tar=false (oci): a layout directory instead of a tar

  bool to_stdout() const { return dest == "-"; }
};

// Parses one -o value; throws bld::Error ("--output SPEC: ...") naming what
// is wrong with it.
BuildOutput ParseBuildOutput(const std::string& spec);

}  // namespace bld::builder
