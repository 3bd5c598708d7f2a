// Fuzzes `bld load`'s archive reader: any byte string handed to LoadImages
// (docker-archive or OCI layout, plain or compressed) must load or be
// refused with bld::Error, never crash, hang, leak or trip a sanitizer, and
// whatever it leaves in the store must pass `bld check`. Each input gets a
// fresh store, removed after.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "fuzz/scratch_dir.h"
#include "store/error.h"
#include "store/image_archive.h"
#include "store/store.h"
#include "store/store_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string root = FuzzScratchDir("bld-load-fuzz") + "/store";
  {
    std::unique_ptr<bld::store::Store> store = bld::store::Store::Open(root);
    size_t pos = 0;
    try {
      bld::store::LoadImages(*store, [&](void* out, size_t n) {
        n = std::min(n, size - pos);
        std::memcpy(out, data + pos, n);
        pos += n;
        return n;
      });
    } catch (const bld::Error&) {
    }
    bld::store::CheckReport report = bld::store::CheckStore(*store);
    if (!report.problems.empty()) {
      std::fprintf(stderr, "the store is not consistent after a load: %s\n", report.problems.front().c_str());
      std::abort();
    }
  }
  std::filesystem::remove_all(root);
  return 0;
}
