// Finding a local image by what a user types: a name (normalized as Docker
// does: "helloworld" is docker.io/library/helloworld:latest), a name with a
// digest, or an image ID (the config digest, in full or as a prefix of at
// least the 12 hex digits Docker prints).
//
// Thread-safety: pure functions over a thread-safe Store.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/oci.h"
#include "store/store.h"

namespace bld::registry {

// The ref name bld stores for `name` (ParseDockerRef(...).String()).
// Throws bld::Error for an invalid reference.
std::string CanonicalRefName(std::string_view name);

// The short form Docker prints: docker.io/library/x:latest -> x:latest.
std::string FamiliarRefName(std::string_view canonical);

// The local image `name_or_id` names, as the descriptor of its manifest (or
// index); nullopt when there is none. Throws for an ambiguous ID prefix.
std::optional<store::Descriptor> FindLocalImage(const store::Store& store, std::string_view name_or_id);

}  // namespace bld::registry
