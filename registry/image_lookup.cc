#include "registry/image_lookup.h"

#include "registry/reference.h"
#include "store/error.h"
#include "store/image.h"

namespace bld::registry {

namespace {

// Docker accepts an image ID prefix from the 12 digits it prints; shorter
// ones would match too easily by accident.
constexpr size_t kMinIdPrefix = 12;
constexpr size_t kHexDigestLength = 64;

bool IsHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string CanonicalRefName(std::string_view name) { return Reference::ParseDockerRef(name).String(); }

std::string FamiliarRefName(std::string_view canonical) {
  return Reference::ParseNormalizedNamed(canonical).FamiliarString();
}

std::optional<store::Descriptor> FindLocalImage(const store::Store& store, std::string_view name_or_id) {
  std::string_view id = name_or_id;
  if (id.starts_with("sha256:")) id.remove_prefix(7);
  if (id.size() >= kMinIdPrefix && id.size() <= kHexDigestLength && IsHex(id)) {
    std::optional<store::Descriptor> found;
    for (const auto& [name, desc] : store.ListRefs()) {
      store::Digest image_id;
      try {
        image_id = store::ReadNamedImage(store, desc).id;
      } catch (const Error&) {
        continue;  // damaged: not this one
      }
      if (!image_id.hex().starts_with(id)) continue;
      if (found && found->digest != desc.digest)
        throw Error("image ID prefix " + std::string(name_or_id) + " is ambiguous: give more digits");
      found = desc;
    }
    if (found || id.size() == kHexDigestLength) return found;
  }
  std::string ref = CanonicalRefName(name_or_id);
  if (std::optional<store::Descriptor> d = store.GetRef(ref)) return d;
  // name@sha256:... : the manifest itself, if the store has it.
  Reference r = Reference::ParseDockerRef(name_or_id);
  if (!r.digest().empty()) {
    store::Digest digest = store::Digest::Parse(r.digest());
    if (std::optional<store::Descriptor> rec = store.BlobRecord(digest)) return rec;
  }
  return std::nullopt;
}

}  // namespace bld::registry
