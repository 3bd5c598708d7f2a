// The build cache as bld exports it (--cache-to) and imports it
// (--cache-from), described in docs/cache-export.md: records that map a
// step's cache key (docs/cache-keys.md) to the image state after the step,
// as the LMDB cache holds them (build_cache.h), but with every layer named
// by a compressed blob, so that another machine can fetch it.
//
// Written as an OCI image manifest whose config is the records document
// (media type kCacheConfigMediaType) and whose layers are every blob the
// records name, so that a registry keeps them and a layout directory holds
// them; or, for type=inline, as the label kInlineCacheLabel of the image's
// config, whose own layers are the records' layers.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "builder/image_state.h"
#include "store/oci.h"

namespace bld::builder {

inline constexpr std::string_view kCacheConfigMediaType = "application/vnd.bld.build-cache.config.v1+json";
inline constexpr std::string_view kInlineCacheLabel = "dev.bld.build-cache.v1";
// A records document is read whole: this bounds what an imported cache may
// make bld hold in memory (a record is a few KiB; a cache of thousands of
// steps stays far below it).
inline constexpr size_t kMaxCacheRecordsSize = 64 << 20;

using CacheRecords = std::map<std::string, ImageState>;

// {"version":1,"records":{"<key>":{"config":{...},"layers":[...]}}}
std::string SerializeCacheRecords(const CacheRecords& records);
// Throws bld::Error naming `what` when the document is not one this version
// reads, or a record is inconsistent (layers and diff IDs disagree).
CacheRecords ParseCacheRecords(std::string_view json, const std::string& what);

// The manifest of an exported cache whose records document is `config`:
// it lists every distinct layer blob of `records`, in key order.
store::ImageManifest CacheManifest(const store::Descriptor& config, const CacheRecords& records);

}  // namespace bld::builder
