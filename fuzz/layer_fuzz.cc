// Fuzzes the layer readers: any byte string handed to VerifyLayer (what
// `bld load` and `bld import` run) and to ApplyLayer (what unpacks a layer)
// must be accepted or refused with bld::Error, never crash, hang, leak or
// trip a sanitizer; and the two must agree, since they share one set of
// rules (store/layer_reader.h): a layer verification refuses is refused by
// the applier too. Inputs are raw streams, so the gzip, zstd, bzip2 and xz
// readers are fuzzed on the way.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "fuzz/scratch_dir.h"
#include "store/error.h"
#include "store/layer_applier.h"
#include "store/layer_reader.h"

namespace {

bld::store::ByteSource Source(const uint8_t* data, size_t size) {
  size_t pos = 0;
  return [data, size, pos](void* out, size_t n) mutable {
    n = std::min(n, size - pos);
    std::memcpy(out, data + pos, n);
    pos += n;
    return n;
  };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bool verified = true;
  try {
    bld::store::VerifyLayer(Source(data, size));
  } catch (const bld::Error&) {
    verified = false;
  }
  std::string target = FuzzScratchDir("bld-layer-fuzz") + "/root";
  std::filesystem::create_directory(target);
  bool applied = true;
  try {
    bld::store::ApplyLayer(Source(data, size), target);
  } catch (const bld::Error&) {
    applied = false;
  }
  std::filesystem::remove_all(target);
  if (applied && !verified) {
    std::fprintf(stderr, "ApplyLayer accepted a layer VerifyLayer refused\n");
    std::abort();
  }
  return 0;
}
