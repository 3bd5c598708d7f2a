// Fuzzes the OCI and Docker JSON readers of store/oci.h (manifests,
// indexes, image configs, descriptors): any byte string must parse or be
// refused with bld::Error, never crash, hang, leak or trip a sanitizer; and
// what parses must survive a round trip, Parse(Serialize(x)) == x, since bld
// serializes the configs and manifests it writes with the same types.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "store/digest.h"
#include "store/error.h"
#include "store/oci.h"

namespace {

template <typename T, typename Parse>
void RoundTrip(std::string_view text, const Parse& parse, const char* kind) {
  T parsed;
  try {
    parsed = parse(text);
  } catch (const bld::Error&) {
    return;
  }
  std::string again = bld::store::Serialize(parsed);
  T reparsed;
  try {
    reparsed = parse(again);
  } catch (const bld::Error& e) {
    std::fprintf(stderr, "a serialized %s does not parse: %s\n%s\n", kind, e.what(), again.c_str());
    std::abort();
  }
  if (!(reparsed == parsed)) {
    std::fprintf(stderr, "a %s changed in a round trip:\n%s\n", kind, again.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bld::store;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Digest digest = Sha256::Of(text);
  RoundTrip<ImageManifest>(text, [&](std::string_view t) { return ParseImageManifest(t, digest); }, "manifest");
  RoundTrip<ImageIndex>(text, [&](std::string_view t) { return ParseImageIndex(t, digest); }, "index");
  RoundTrip<ImageConfig>(text, [&](std::string_view t) { return ParseImageConfig(t, digest); }, "config");
  RoundTrip<Descriptor>(text, [](std::string_view t) { return ParseDescriptor(t, "descriptor"); }, "descriptor");
  return 0;
}
