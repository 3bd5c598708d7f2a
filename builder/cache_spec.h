// `bld build --cache-to SPEC` / `--cache-from SPEC`: where a build's cache is
// shared with other machines, in BuildKit's syntax (comma-separated
// key=value pairs; docs/cache-export.md has the format written):
//
//   --cache-to type=registry,ref=REG/REPO[:TAG][,mode=min|max]
//              [,compression=gzip|zstd|uncompressed][,oci-mediatypes=true][,ignore-error=true]
//   --cache-to type=local,dest=DIR[, the same optional keys]
//   --cache-to type=inline           the cache metadata in the image's config
//   --cache-from type=registry,ref=REF   a cache bld exported, or an image
//                                        with inline cache metadata
//   --cache-from type=local,src=DIR
//   --cache-from REF                 short for type=registry,ref=REF
//
// Never accepted and ignored: an unknown type, a key the type does not
// take, a key given twice, a value outside the set a key takes, a missing
// ref/dest/src: each is an error that quotes the spec and names the bad key
// or value. BuildKit's types and keys bld does not carry out (type=gha,
// oci-mediatypes=false, image-manifest=, ...) are refused the same way.
//
// Parsing is pure (no I/O, no name checks: the cli checks ref= with
// registry/); builder/cache_exchange.h carries the specs out.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>

#include "store/compression.h"

namespace bld::builder {

enum class CacheType { kRegistry, kLocal, kInline };
// min: the steps of the final image's stages; max: every step of the build.
enum class CacheMode { kMin, kMax };

struct CacheSpec {
  CacheType type = CacheType::kRegistry;
  std::string ref;  // registry: the cache's (or the image's) reference
  std::string dir;  // local: dest= (export) or src= (import), an OCI layout directory
  CacheMode mode = CacheMode::kMin;
  // The compression of the layers the export compresses; unset: the build's.
  std::optional<store::Compression> compression;
  bool ignore_error = false;  // an export that fails is a warning, not an error
  std::string spec;           // as written, for messages
};

// Parses one --cache-to value; throws bld::Error ("--cache-to SPEC: ...").
CacheSpec ParseCacheExport(const std::string& spec);
// Parses one --cache-from value; throws bld::Error ("--cache-from SPEC: ...").
CacheSpec ParseCacheImport(const std::string& spec);

}  // namespace bld::builder
